// Kiln (wasm) engine of the CNN / RNN benchmark, through the public JS API
// only (the TF.js-identical Layers API: kiln.sequential, kiln.layers.conv2d /
// maxPooling2d / flatten / dense / lstm, compile, warmup, trainOnBatch,
// predict). The caller passes the kiln module (Node: `import * as kiln from
// 'kiln'`; page: `import * as kiln from '/lib/index.js'`). kiln.ready() loads
// one variant per JS context, so run one variant per process / page.
//
// A Kiln build without one of the layers a model needs records an error for
// that model (the run goes on); so does any failure while building or running.
import { runModels } from '../common/run_models.mjs';
import { BATCH, CLASSES, LEARNING_RATE, SEED, dataFor, layerConfigs, layerTypes } from './models.mjs';

/**
 * @param kiln     the kiln module namespace
 * @param options  { variant: 'single' | 'threaded', threads, specs, protocol, log, onRecord }
 * @returns        { engine, info, results }
 */
export async function runKiln(kiln, { variant, threads, specs, protocol, log = () => {}, onRecord }) {
  const t0 = performance.now();
  const backend = await kiln.ready({ variant, threads, quiet: true });
  const loadMs = performance.now() - t0;
  log(`kiln ${variant}: ${backend.variant}, ${backend.threads} thread(s), gemm ${backend.gemmKernel}`);
  const available = Object.keys(kiln.layers ?? {}).filter((k) => typeof kiln.layers[k] === 'function').sort();
  const info = { ...backend, loadMs: Math.round(loadMs), requestedThreads: threads ?? null, layersAvailable: available, params: {} };
  const adapter = {
    name: `kiln-${variant}`,
    check(spec) {
      const missing = layerTypes(spec).filter((t) => !available.includes(t));
      return missing.length
        ? { error: `this Kiln build has no ${missing.map((t) => `kiln.layers.${t}`).join(', ')} (it has: ${available.join(', ') || 'none'})` }
        : null;
    },
    build(spec, data) {
      const shape = (n) => [n, ...spec.inputShape];
      const tensors = {
        y: kiln.tensor(data.y, [BATCH, CLASSES]),
        batches: data.batches.map((b) => kiln.tensor(b, shape(BATCH))),
        samples: data.samples.map((v) => kiln.tensor(v, shape(1))),
      };
      let model = null;
      try {
        model = kiln.sequential({ layers: layerConfigs(spec).map(({ type, config }) => kiln.layers[type](config)), seed: SEED });
        model.compile({ optimizer: kiln.train.sgd(LEARNING_RATE), loss: 'categoricalCrossentropy' });
        model.warmup(BATCH);
        if (typeof model.countParams === 'function') info.params[spec.id] = model.countParams();
      } catch (e) {
        for (const t of [tensors.y, ...tensors.batches, ...tensors.samples]) t.dispose?.();
        model?.dispose?.();
        throw e;
      }
      return { model, tensors };
    },
    async train({ model, tensors }) {
      return model.trainOnBatch(tensors.batches[0], tensors.y);
    },
    predict({ model, tensors }, { batch, index }) {
      const out = model.predict(batch === 1 ? tensors.samples[index] : tensors.batches[index]);
      const values = out.dataSync();
      out.dispose();
      return values;
    },
    dispose({ model, tensors }) {
      for (const t of [tensors.y, ...tensors.batches, ...tensors.samples]) t.dispose?.();
      model.dispose();
    },
  };
  const results = await runModels(adapter, { specs, dataFor, protocol, log, onRecord });
  return { engine: `kiln-wasm-${variant}`, info, results };
}
