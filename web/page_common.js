// What the demo pages (demo.js, cnn_demo.js, lstm_demo.js) share besides the
// status line (page_status.js): element lookup, URL parameters, the backend
// panel, the epoch menu and the live training readouts (#plot, #progress,
// #ms-per-batch, #test-acc, #epoch-table).
import { smoother } from './training_plot.js';
import { setState, setStatus, fail } from './page_status.js';

export const $ = (id) => document.getElementById(id);

export const params = new URLSearchParams(location.search);
export const numParam = (name, fallback) => (params.has(name) ? Number(params.get(name)) : fallback);

export const percent = (v) => `${(100 * v).toFixed(2)}%`;

// The MLP and CNN pages' backend panel, #backend: [dd id, label]; the last row spans the panel.
const BACKEND_ROWS = [['variant', 'Backend'], ['threads', 'Threads'], ['simd', 'SIMD'], ['gemm', 'GEMM kernel'],
  ['where', 'Runs in'], ['isolated', 'Cross-origin isolated'], ['reason', 'Why this variant']];

function renderBackendPanel() {
  for (const [i, [id, label]] of BACKEND_ROWS.entries()) {
    const row = document.createElement('div');
    if (i === BACKEND_ROWS.length - 1) row.className = 'wide';
    const dt = document.createElement('dt'), dd = document.createElement('dd');
    dt.textContent = label;
    dd.id = id;
    dd.textContent = i === 0 ? 'loading…' : '–';
    row.append(dt, dd);
    $('backend').append(row);
  }
}

/** Fills the backend panel from kiln.ready()'s info. */
export function showBackend(info) {
  const fields = {
    variant: info.variant,
    threads: String(info.threads),
    simd: info.simd ? 'SIMD128' : 'no',
    gemm: info.gemmKernel,
    where: info.environment === 'worker' ? 'a Web Worker (the page never waits)' : 'the page\'s main thread',
    isolated: self.crossOriginIsolated ? 'yes' : 'no',
    reason: info.reason,
  };
  for (const [id, text] of Object.entries(fields)) {
    const el = $(id);
    if (el) el.textContent = text;  // the LSTM page shows only the variant and threads
  }
}

/** The #epochs menu: `choices` plus the URL's `selected`, in order, with `selected` chosen. */
export function fillEpochChoices(choices, selected) {
  for (const n of [...new Set([...choices, selected])].sort((a, b) => a - b))
    $('epochs').append(new Option(String(n), String(n), false, n === selected));
}

export const progressText = (step, perEpoch, epochs) =>
  `epoch ${Math.ceil(step / perEpoch)}/${epochs} · ${Math.floor((100 * step) / (epochs * perEpoch))}%`;

/**
 * onBatch/onEpoch callbacks for trainModel and trainCnn: the plot (smoothed
 * to about 300 points), #progress and #ms-per-batch every 10 batches, and a
 * row of #epoch-table per epoch; times shown with `msDigits` decimals.
 */
export function trainingReadouts(plot, { epochs, perEpoch, msDigits }) {
  const total = epochs * perEpoch;
  const addPoint = smoother(Math.max(1, Math.ceil(total / 300)), (step, loss, acc) => plot.addPoint(step, loss, acc));
  return {
    onBatch: (b) => {
      addPoint(b);
      if (b.step % 10 === 0 || b.step === total) {
        $('progress').textContent = progressText(b.step, perEpoch, epochs);
        $('ms-per-batch').textContent = b.msPerBatch.toFixed(msDigits);
      }
    },
    onEpoch: (e) => {
      plot.addTestAccuracy(e.step, e.testAccuracy);
      const row = $('epoch-table').tBodies[0].insertRow();
      for (const text of [e.epoch + 1, e.loss.toFixed(4), percent(e.acc), percent(e.testAccuracy), e.msPerBatch.toFixed(msDigits)])
        row.insertCell().textContent = String(text);
    },
  };
}

/** The readouts once training has ended (`total` batches were planned; fewer means Stop was pressed). */
export function showTrainingResult(result, total, msDigits) {
  $('test-acc').textContent = percent(result.testAccuracy);
  $('test-acc').dataset.value = String(result.testAccuracy);
  $('ms-per-batch').textContent = result.msPerBatch.toFixed(msDigits);
  $('progress').textContent = `${result.batches} batches${result.batches < total ? ' (stopped)' : ''}`;
}

/**
 * Renders the backend panel, wires #train to `train` and #stop to the model
 * `training()` returns, then waits for the backend (`kiln.ready()`: the
 * module's, or any function giving its info), shows it and enables Train
 * with `readyText`.
 */
export async function startTrainingPage(kiln, { train, training, readyText }) {
  renderBackendPanel();
  $('train').addEventListener('click', train);
  $('stop').addEventListener('click', () => {
    const model = training();
    if (model) model.stopTraining = true;
  });
  try {
    showBackend(await kiln.ready());
    $('train').disabled = false;
    setStatus(readyText);
    setState('ready');
  } catch (e) {
    fail(e);
  }
}
