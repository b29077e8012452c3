// The transfer-learning page (web/transfer.html): examples from the drawing
// pad or image files in three classes, a frozen MobileNetV2 (ONNX, imported
// with kiln.onnx.loadModel) with a new head fine-tuned on them with a live
// plot, then the pad's drawing classified. ?auto=1 draws the examples itself
// (circles, lines, crosses with random jitter), trains, classifies held-out
// drawings and reports the accuracy in body[data-auto-accuracy].
// The engine runs in a Web Worker (kiln/worker): every engine call is awaited.
//   URL parameters: epochs, model (URL of an ONNX network), size (its input), auto, perClass (auto).
import { startWorker } from '/lib/worker.js';
import { DrawPad } from './draw_pad.js';
import { TrainingPlot } from './training_plot.js';
import { mulberry32 } from './random.js';
import { setState, setStatus, fail } from './page_status.js';
import { $, params, numParam, showBackend, fillEpochChoices, percent } from './page_common.js';
import { rgbaToNetworkInput, transferModel } from './transfer_learning.js';

const settings = {
  epochs: numParam('epochs', 8),
  size: numParam('size', 96),
  modelUrl: params.get('model') ?? '/build/torchvision/mobilenet_v2.onnx',
  auto: params.has('auto'),
  perClass: numParam('perClass', 10),
};
const CLASS_NAMES = ['circle', 'line', 'cross'];
const examples = [];  // {x: Float32Array, k}
const pad = new DrawPad($('pad'), { lineWidth: 16 });
const plot = new TrainingPlot($('plot'));
const scratch = Object.assign(document.createElement('canvas'), { width: settings.size, height: settings.size });
let networkBytes = null, model = null;
let kiln = null;  // the engine in its worker

function className(k) { return $(`class-${k}`).value || CLASS_NAMES[k]; }

function renderClasses() {
  CLASS_NAMES.forEach((name, k) => {
    const row = document.createElement('div');
    row.className = 'example-class';
    row.innerHTML = `<input id="class-${k}" value="${name}" aria-label="Class ${k + 1} name">` +
      `<button id="add-${k}" class="secondary">Add drawing</button><span class="count" id="count-${k}">0 examples</span>`;
    $('classes').append(row);
    $(`add-${k}`).addEventListener('click', () => addExample(pad.canvas, k));
    $('files-class').append(new Option(name, String(k)));
  });
}

// Any image source (the pad, a decoded file) scaled to the network's input.
function toInput(source) {
  const ctx = scratch.getContext('2d', { willReadFrequently: true });
  ctx.drawImage(source, 0, 0, settings.size, settings.size);
  return rgbaToNetworkInput(ctx.getImageData(0, 0, settings.size, settings.size).data, settings.size);
}

function addExample(source, k) {
  examples.push({ x: toInput(source), k });
  const n = examples.filter((e) => e.k === k).length;
  $(`count-${k}`).textContent = `${n} example${n === 1 ? '' : 's'}`;
  if (source === pad.canvas) pad.clear();
}

async function addFiles() {
  const k = Number($('files-class').value);
  for (const file of $('files').files) addExample(await createImageBitmap(file), k);
  $('files').value = '';
}

async function train() {
  const counts = CLASS_NAMES.map((_, k) => examples.filter((e) => e.k === k).length);
  if (counts.some((c) => c === 0)) {
    setStatus(`Add at least one example to every class first (${counts.join(' / ')}).`, true);
    return;
  }
  $('train').disabled = true;
  $('stop').disabled = false;
  setState('training');
  try {
    await model?.dispose();
    model = null;
    setStatus('Loading the network…');
    model = await transferModel(kiln, networkBytes, { size: settings.size, classes: CLASS_NAMES.length });
    const image = 3 * settings.size * settings.size;
    const x = new Float32Array(examples.length * image), y = new Float32Array(examples.length * CLASS_NAMES.length);
    examples.forEach((e, i) => {
      x.set(e.x, i * image);
      y[i * CLASS_NAMES.length + e.k] = 1;
    });
    const xs = await kiln.tensor(x, [examples.length, 3, settings.size, settings.size]);
    const ys = await kiln.tensor(y, [examples.length, CLASS_NAMES.length]);
    const epochs = Number($('epochs').value), batchSize = 16;
    const perEpoch = Math.ceil(examples.length / batchSize);
    plot.reset(epochs * perEpoch);
    let step = 0, t0 = performance.now();
    setStatus(`Fine-tuning the head on ${examples.length} examples…`);
    await model.fit(xs, ys, {
      epochs, batchSize, shuffle: true,
      callbacks: {
        onBatchEnd: (_, logs) => {
          plot.addPoint(++step, logs.loss, logs.acc);
          $('progress').textContent = `epoch ${Math.ceil(step / perEpoch)}/${epochs}`;
          $('ms-per-batch').textContent = ((performance.now() - t0) / step).toFixed(0);
        },
      },
    });
    const [, acc] = await model.evaluate(xs, ys);
    const accuracy = (await acc.data())[0];
    for (const t of [xs, ys, acc]) await t.dispose();
    $('test-acc').textContent = percent(accuracy);
    $('test-acc').dataset.value = String(accuracy);
    $('classify').disabled = false;
    setStatus('Trained. Draw something and classify it.');
    setState('trained');
  } catch (e) {
    fail(e);
  } finally {
    $('train').disabled = false;
    $('stop').disabled = true;
  }
}

async function classify(source = pad.canvas) {
  const x = await kiln.tensor(toInput(source), [1, 3, settings.size, settings.size]);
  const y = await model.predict(x);
  const probs = await y.data();
  await x.dispose();
  await y.dispose();
  const best = probs.indexOf(Math.max(...probs));
  $('prediction-text').textContent = `${className(best)} (${percent(probs[best])})`;
  $('prediction-text').dataset.class = String(best);
  $('probs').replaceChildren(...Array.from(probs, (p, k) => {
    const row = document.createElement('div');
    row.className = `prob-row${k === best ? ' best' : ''}`;
    row.dataset.p = String(p);
    row.innerHTML = `<span class="prob-digit">${k + 1}</span><span class="prob-track"><span class="prob-fill" style="width:${(100 * p).toFixed(1)}%"></span></span><span class="prob-value">${percent(p)}</span>`;
    row.title = className(k);
    return row;
  }));
  return best;
}

// ?auto=1: a shape of class k drawn on the pad with random position, size and slant.
function drawShape(k, random) {
  pad.clear();
  const w = pad.canvas.width, c = w / 2 + (random() - 0.5) * w * 0.2, r = w * (0.22 + 0.12 * random());
  const tilt = (random() - 0.5) * 0.8, at = (a, s = r) => ({ x: c + s * Math.cos(a), y: c + s * Math.sin(a) });
  const stroke = (points) => points.slice(1).forEach((p, i) => pad.segment(points[i], p));
  if (k === 0) stroke(Array.from({ length: 33 }, (_, i) => at((2 * Math.PI * i) / 32)));
  else if (k === 1) stroke([at(tilt + Math.PI), at(tilt)]);
  else {
    stroke([at(tilt + Math.PI / 4 + Math.PI), at(tilt + Math.PI / 4)]);
    stroke([at(tilt - Math.PI / 4 + Math.PI), at(tilt - Math.PI / 4)]);
  }
}

async function autoRun() {
  const random = mulberry32(7);
  for (let i = 0; i < settings.perClass; i++)
    for (let k = 0; k < CLASS_NAMES.length; k++) {
      drawShape(k, random);
      addExample(pad.canvas, k);
    }
  await train();
  let right = 0, total = 0;
  for (let i = 0; i < 10; i++)
    for (let k = 0; k < CLASS_NAMES.length; k++, total++) {
      drawShape(k, random);
      if ((await classify()) === k) right++;
    }
  document.body.dataset.autoAccuracy = String(right / total);
  setStatus(`Held-out drawings: ${right} of ${total} right.`);
}

async function start() {
  renderClasses();
  fillEpochChoices([4, 8, 16, 32], settings.epochs);
  const backend = document.getElementById('backend');
  for (const [id, label] of [['variant', 'Backend'], ['threads', 'Threads'], ['network', 'Network']]) {
    const row = document.createElement('div');
    row.innerHTML = `<dt>${label}</dt><dd id="${id}">–</dd>`;
    backend.append(row);
  }
  $('clear').addEventListener('click', () => pad.clear());
  $('files').addEventListener('change', () => addFiles().catch(fail));
  $('train').addEventListener('click', train);
  $('stop').addEventListener('click', () => { if (model) model.stopTraining = true; });
  $('classify').addEventListener('click', () => classify().catch(fail));
  try {
    kiln = await startWorker();
    showBackend(kiln.backend);
    const response = await fetch(settings.modelUrl);
    if (!response.ok) throw new Error(`cannot load ${settings.modelUrl}: HTTP ${response.status} (run make torchvision-models)`);
    networkBytes = new Uint8Array(await response.arrayBuffer());
    $('network').textContent = `${settings.modelUrl.split('/').pop()} (${(networkBytes.length / 1e6).toFixed(1)} MB)`;
    $('train').disabled = false;
    setStatus('Ready: add examples to each class, then fine-tune.');
    setState('ready');
    if (settings.auto) await autoRun();
  } catch (e) {
    fail(e);
  }
}

start();
