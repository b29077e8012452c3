// `make demo`: trains an MLP 784-128-10 (ReLU, softmax, Adam) on the full
// MNIST, first in headless Chromium through the JS API, then in Node, and
// prints test accuracy, ms per batch and the backend. Fails below 97%.
import * as kiln from 'kiln';
import { serve } from './serve.mjs';
import { launchBrowser, openPage } from './browser.mjs';
import { loadMnistNode } from '../web/mnist.js';
import { trainMnist } from '../web/train_mnist.js';

const EPOCHS = Number(process.env.KILN_DEMO_EPOCHS ?? 3);
const TARGET = 0.97;

function report(where, r) {
  const b = r.backend;
  console.log(`\n== ${where} ==`);
  console.log(`backend:        ${b.variant}, ${b.threads} thread(s), SIMD ${b.simd}, GEMM ${b.gemmKernel} (${b.reason})`);
  console.log(`test accuracy:  ${(100 * r.testAccuracy).toFixed(2)}% after ${EPOCHS} epochs`);
  console.log(`ms per batch:   ${r.msPerBatch.toFixed(3)} (batch ${r.batchSize}, ${r.batches} batches)`);
  return r.testAccuracy >= TARGET;
}

const results = [];
const server = await serve({ isolated: true });
const browser = await launchBrowser();
try {
  const page = await openPage(browser, `${server.url}web/job.html`);
  await page.waitForFunction(() => window.jobReady === true);
  const r = await page.evaluate((epochs) => window.runMnistJob({ epochs }), EPOCHS);
  results.push(report(`headless Chromium ${browser.version()} (cross-origin isolated: ${r.crossOriginIsolated})`, r));
} finally {
  await browser.close();
  await server.close();
}

await kiln.ready();
const data = await loadMnistNode();
const r = await trainMnist(kiln, data, {
  epochs: EPOCHS,
  onEpochEnd: (e, l) => console.log(`[node] epoch ${e + 1}: loss ${l.loss.toFixed(4)} acc ${l.acc.toFixed(4)}`),
});
results.push(report(`Node.js ${process.version}`, r));

if (!results.every(Boolean)) {
  console.error(`\ndemo: test accuracy below ${100 * TARGET}%`);
  process.exit(1);
}
console.log(`\ndemo: OK (every run reached >= ${100 * TARGET}% test accuracy)`);
