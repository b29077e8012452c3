// The LSTM demo page (web/lstm.html): loads a text, trains a character-level
// LSTM on 90% of it with a live plot, measures next-character accuracy on the
// held-out 10%, and samples text after every epoch and on demand.
// The engine runs in a Web Worker (kiln/worker): every engine call is awaited.
//   URL parameters for quick runs: epochs, trainLimit (windows), sampleLength.
import { startWorker } from '/lib/worker.js';
import { prepareText, makeWindows, buildCharModel, sampleText } from './char_model.js';
import { TrainingPlot } from './training_plot.js';
import { setState, setStatus, fail } from './page_status.js';
import { $, params, numParam, showBackend, fillEpochChoices, progressText } from './page_common.js';

const settings = {
  epochs: numParam('epochs', 5),
  trainLimit: numParam('trainLimit', Infinity),
  sampleLength: numParam('sampleLength', 240),
  textUrl: params.get('text') ?? '/debian/common-licenses/GPL-3',
  window: 40,
  stride: 3,
  batchSize: 64,
};
const plot = new TrainingPlot($('plot'));
let prepared = null, data = null, model = null, training = null;
let kiln = null;  // the engine in its worker


async function loadText() {
  const response = await fetch(settings.textUrl);
  if (!response.ok) throw new Error(`cannot load the text ${settings.textUrl}: HTTP ${response.status}`);
  prepared = prepareText(await response.text());
  const split = Math.floor(prepared.ids.length * 0.9);
  const train = makeWindows(prepared.ids, settings.window, settings.stride, 0, split);
  const count = Math.min(train.count, settings.trainLimit);
  data = {
    train: { x: train.x.subarray(0, count * settings.window), y: train.y.subarray(0, count), count },
    test: makeWindows(prepared.ids, settings.window, 1, split),
  };
  $('text-info').textContent = `${settings.textUrl.split('/').pop()}, ${prepared.text.length} characters`;
  $('vocab').textContent = `${prepared.chars.length} characters`;
  $('seed').value = prepared.text.slice(split, split + settings.window);
}

function addSample(label, text) {
  const item = document.createElement('figure');
  item.className = 'sample-item';
  const caption = document.createElement('figcaption');
  caption.textContent = label;
  const body = document.createElement('p');
  body.className = 'sample-text';
  body.textContent = text;
  item.append(caption, body);
  $('samples').prepend(item);
}

async function sample(label) {
  const seed = $('seed').value.padStart(settings.window, ' ');
  const temperature = Number($('temperature').value);
  const text = await sampleText(kiln, model, prepared, { seedText: seed, window: settings.window, length: settings.sampleLength, temperature });
  addSample(`${label} · temperature ${temperature}`, seed.slice(-settings.window) + text);
}

async function train() {
  const epochs = Number($('epochs').value);
  setState('training');
  for (const id of ['train', 'epochs', 'sample']) $(id).disabled = true;
  try {
    const { train: tr, test } = data;
    const perEpoch = Math.ceil(tr.count / settings.batchSize);
    plot.reset(epochs * perEpoch);
    training = await buildCharModel(kiln, { vocab: prepared.chars.length, window: settings.window });
    model = null;
    $('stop').disabled = false;
    const xs = await kiln.tensor(tr.x, [tr.count, settings.window]), ys = await kiln.tensor(tr.y, [tr.count]);
    const testX = await kiln.tensor(test.x, [test.count, settings.window]), testY = await kiln.tensor(test.y, [test.count]);
    let step = 0, batchStart = 0, lastAcc = 0;
    const t0 = performance.now();
    setStatus(`Training on ${tr.count} windows of ${settings.window} characters…`);
    await training.fit(xs, ys, {
      epochs, batchSize: settings.batchSize, shuffle: true,
      callbacks: {
        onBatchBegin: () => { batchStart = performance.now(); },
        onBatchEnd: (_, logs) => {
          step++;
          plot.addPoint(step, logs.loss, logs.acc);
          if (step % 10 === 0) {
            $('ms-per-batch').textContent = (performance.now() - batchStart).toFixed(1);
            $('progress').textContent = progressText(step, perEpoch, epochs);
          }
        },
        onEpochEnd: async (epoch) => {
          const [, acc] = await training.evaluate(testX, testY);
          lastAcc = (await acc.data())[0];
          plot.addTestAccuracy(step, lastAcc);
          $('test-acc').textContent = `${(100 * lastAcc).toFixed(1)}%`;
          $('test-acc').dataset.value = String(lastAcc);
          model = training;
          await sample(`after epoch ${epoch + 1}`);
        },
      },
    });
    $('ms-per-batch').textContent = ((performance.now() - t0) / Math.max(1, step)).toFixed(1);
    $('progress').textContent = `${step} batches`;
    setStatus(`Done: ${(100 * lastAcc).toFixed(1)}% of held-out next characters guessed. Sample more below.`);
    setState('trained');
  } catch (e) {
    fail(e);
  } finally {
    training = null;
    for (const id of ['train', 'epochs']) $(id).disabled = false;
    $('sample').disabled = model === null;
    $('stop').disabled = true;
  }
}

async function main() {
  kiln = await startWorker({ quiet: true });
  showBackend(kiln.backend);
  fillEpochChoices([1, 3, 5, 10], settings.epochs);
  $('temperature').addEventListener('input', () => { $('temperature-value').textContent = $('temperature').value; });
  $('train').addEventListener('click', train);
  $('stop').addEventListener('click', () => { if (training) training.stopTraining = true; });
  $('sample').addEventListener('click', () => sample('on demand').catch(fail));
  setStatus('Loading the text…');
  await loadText();
  $('train').disabled = false;
  setStatus('Ready: press Train.');
  setState('ready');
}

main().catch(fail);
