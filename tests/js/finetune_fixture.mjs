// The fine-tuning fixture (scripts/make_finetune_fixtures.py, in build/finetune):
// a small PyTorch CNN exported to ONNX, its inputs and targets, and PyTorch's
// ten training steps on them. Shared by the loadModel and loadGraph tests.
import { readFile } from 'node:fs/promises';

const dir = new URL('../../build/finetune/', import.meta.url);
const floats = async (name) => new Float32Array((await readFile(new URL(name, dir))).buffer.slice(0));

export const bytes = new Uint8Array(await readFile(new URL('model.onnx', dir)));
export const x = await floats('x.f32');
export const y = await floats('y.f32');
export const expected = JSON.parse(await readFile(new URL('expected.json', dir), 'utf8'));
export const IMAGE = 3 * 12 * 12;
