// Browser side of the MLP benchmark runner: serves the repo root with
// COOP/COEP, then loads bench/mlp/page.html once per engine in a fresh headless
// Chromium (a fresh browser and JS context each time) and collects
// window.__result.
import { serve } from '../../scripts/serve.mjs';
import { launchBrowser, openPage } from '../../scripts/browser.mjs';

export const BROWSER_ENGINES = ['kiln-wasm-single', 'kiln-wasm-threaded', 'tfjs-cpu', 'tfjs-wasm'];
/** Also run in the page: TF.js's WebGL backend (headless Chromium here: SwiftShader, a software GPU) and the per-sample peers. */
export const OTHER_BROWSER_ENGINES = ['tfjs-webgl', 'tfjs-webgpu', 'brainjs', 'synaptic', 'convnetjs'];

/**
 * @returns { chromium: version string, results: [{engine, info, page, results} | {engine, error}] }
 */
export async function runInChromium({ root, engines = BROWSER_ENGINES, quick = false, grid = null, threads = 2, timeoutMs = 240_000,
  timeoutFor = () => timeoutMs, peerBudgetS = null, log = () => {},
  onEngine = async () => {} } = {}) {
  const server = await serve({ isolated: true, ...(root ? { root } : {}) });
  let browser = null;
  const out = { chromium: null, url: server.url, results: [] };
  try {
    for (const engine of engines) {
      // A fresh browser per engine: WebGPU needs its flag, and the others run without it.
      browser = await launchBrowser({ webgpu: engine === 'tfjs-webgpu', gpu: engine === 'tfjs-webgl' || engine === 'tfjs-webgpu' });
      out.chromium = browser.version();
      await onEngine(engine, 'start');
      const t0 = Date.now();
      const url = `${server.url}bench/mlp/page.html?engine=${engine}&threads=${threads}${quick ? '&quick=1' : ''}${grid ? `&grid=${grid.depths}x${grid.widths}` : ''}${peerBudgetS ? `&budget=${peerBudgetS}` : ''}`;
      let page = null;
      let result;
      try {
        const issues = [];
        page = await openPage(browser, url, `[chromium ${engine}]`);
        page.on('pageerror', (e) => issues.push(`page error: ${e.message}`));
        page.on('console', (m) => {
          if (m.type() === 'error' || m.type() === 'warning') issues.push(`console ${m.type()}: ${m.text()}`);
        });
        page.on('response', (r) => { if (r.status() >= 400) issues.push(`HTTP ${r.status()}: ${r.url()}`); });
        await page.waitForFunction(() => window.__result !== undefined, null, { timeout: timeoutFor(engine), polling: 250 });
        result = await page.evaluate(() => window.__result);
        if (issues.length) result.consoleIssues = [...new Set(issues)];
      } catch (e) {
        result = { engine, error: `page did not finish: ${e && e.message ? e.message : e}` };
      } finally {
        if (page) await page.close().catch(() => {});
      }
      result.wallMs = Date.now() - t0;
      log(`chromium ${engine}: ${result.error ? `ERROR ${result.error.split('\n')[0]}` : 'done'} in ${(result.wallMs / 1000).toFixed(1)} s`);
      out.results.push(result);
      await onEngine(engine, 'end');
      await browser.close().catch(() => {});
      browser = null;
    }
  } finally {
    if (browser) await browser.close().catch(() => {});
    await server.close();
  }
  return out;
}
