// Writes a human model (optionally with an intermediate node as the output) as manifest + data for /tmp/gm/tf2onnx.
import { writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { decodeTypedWeights } from '../../lib/weights_codec.js';
import { modelPath, tfjsFileHandler } from './tfjs_graph_models.mjs';
const [name, node] = process.argv.slice(2);
const a = await tfjsFileHandler(modelPath(name)).load();
const w = decodeTypedWeights(a.weightData, a.weightSpecs);
let sig = a.userDefinedMetadata?.signature ?? a.signature ?? null;
if (node) sig = { inputs: sig?.inputs, outputs: { o: { name: node } } };
const entries = []; const parts = []; let off = 0;
for (const x of w) { entries.push({ name: x.name, dtype: x.dtype, shape: x.shape, offset: off }); parts.push(Buffer.from(x.values.buffer, x.values.byteOffset, x.values.byteLength)); off += x.values.byteLength; }
writeFileSync('/tmp/gm/m.json', JSON.stringify({ modelTopology: a.modelTopology, signature: sig, weights: entries }));
writeFileSync('/tmp/gm/d.bin', Buffer.concat(parts));
execFileSync('/tmp/gm/tf2onnx', ['/tmp/gm/m.json', '/tmp/gm/d.bin', `/tmp/gm/${name}.onnx`], { stdio: 'inherit' });
