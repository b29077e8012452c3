// Kiln (wasm) engine of the MLP benchmark, through the public JS API only.
// The caller passes the kiln module (Node: `import * as kiln from 'kiln'`;
// page: `import * as kiln from '/lib/index.js'`). kiln.ready() loads one
// variant per JS context, so run one variant per process / page.
import { BATCH, CLASSES, INPUT, LEARNING_RATE, runGrid, tfjsFormatBytes } from './common.mjs';

/**
 * @param kiln      the kiln module namespace
 * @param options   { variant: 'single' | 'threaded', threads, cells, protocol, log }
 * @returns         { engine, info, results }
 */
export async function runKiln(kiln, { variant, threads, cells, protocol, log = () => {} }) {
  const t0 = performance.now();
  const backend = await kiln.ready({ variant, threads, quiet: true });
  const loadMs = performance.now() - t0;
  log(`kiln ${variant}: ${backend.variant}, ${backend.threads} thread(s), gemm ${backend.gemmKernel}`);
  let tensors = null;
  const adapter = {
    name: `kiln-${variant}`,
    build({ depth, width }, data) {
      tensors ??= {
        y: kiln.tensor(data.y, [BATCH, CLASSES]),
        batches: data.batches.map((b) => kiln.tensor(b, [BATCH, INPUT])),
        samples: data.samples.map((v) => kiln.tensor(v, [1, INPUT])),
      };
      const layers = [];
      for (let d = 0; d < depth; d++)
        layers.push(kiln.layers.dense({ units: width, activation: 'relu', ...(d === 0 ? { inputShape: [INPUT] } : {}) }));
      layers.push(kiln.layers.dense({ units: CLASSES, activation: 'softmax' }));
      const model = kiln.sequential({ layers });
      model.compile({ optimizer: kiln.train.sgd(LEARNING_RATE), loss: 'categoricalCrossentropy' });
      model.warmup(BATCH);
      return model;
    },
    async train(model) {
      return model.trainOnBatch(tensors.batches[0], tensors.y);
    },
    predict(model, { batch, index }) {
      const out = model.predict(batch === 1 ? tensors.samples[index] : tensors.batches[index]);
      const values = out.dataSync();
      out.dispose();
      return values;
    },
    async save(model) {
      // Kiln's binary file, and the TF.js layers format (model.json + weights.bin) it also writes.
      const kilnFile = await model.save();
      return { 'Kiln binary (model.save())': kilnFile.length, 'TF.js layers format (model.json + weights.bin)': await tfjsFormatBytes(model, kiln.io) };
    },
    dispose(model) {
      model.dispose();
    },
  };
  const results = await runGrid(adapter, { cells, protocol, log });
  return {
    engine: `kiln-wasm-${variant}`,
    info: { ...backend, loadMs: Math.round(loadMs), requestedThreads: threads ?? null },
    results,
  };
}
