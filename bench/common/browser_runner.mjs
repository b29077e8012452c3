// Loads a benchmark page once per engine in headless Chromium (a fresh page,
// so a fresh JS context, each time) and collects window.__result: the
// generalized form of bench/mlp/browser_runner.mjs (the page path and query
// are parameters). Serves `root` with COOP/COEP through scripts/serve.mjs and
// launches Chromium through scripts/browser.mjs.
import { serve } from '../../scripts/serve.mjs';
import { launchBrowser, openPage } from '../../scripts/browser.mjs';

/**
 * @param options { root, pagePath (relative to root, e.g. 'bench/cnn_rnn/page.html'), engines,
 *                  query (object of extra URL parameters), timeoutMs (per engine), log, onEngine(engine, 'start' | 'end'),
 *                  webgpu (launch Chromium with navigator.gpu), gpu (leave its GPU process on: scripts/browser.mjs) }
 * @returns { chromium: version string, url, results: [{ engine, ..., wallMs, consoleIssues? } | { engine, error, wallMs }] }
 */
export async function runPagesInChromium({ root, pagePath, engines, query = {}, timeoutMs = 240_000, log = () => {}, onEngine = async () => {}, webgpu = false, gpu = webgpu }) {
  const server = await serve({ isolated: true, ...(root ? { root } : {}) });
  let browser = null;
  const out = { chromium: null, url: server.url, results: [] };
  try {
    browser = await launchBrowser({ webgpu, gpu });
    out.chromium = browser.version();
    for (const engine of engines) {
      await onEngine(engine, 'start');
      const t0 = Date.now();
      const params = new URLSearchParams({ engine, ...query });
      const url = `${server.url}${pagePath}?${params}`;
      let page = null;
      let result;
      const issues = [];
      try {
        page = await openPage(browser, url, `[chromium ${engine}]`);
        page.on('pageerror', (e) => issues.push(`page error: ${e.message}`));
        page.on('console', (m) => {
          if (m.type() === 'error' || m.type() === 'warning') issues.push(`console ${m.type()}: ${m.text()}`);
        });
        page.on('response', (r) => { if (r.status() >= 400) issues.push(`HTTP ${r.status()}: ${r.url()}`); });
        await page.waitForFunction(() => window.__result !== undefined, null, { timeout: timeoutMs, polling: 250 });
        result = await page.evaluate(() => window.__result);
      } catch (e) {
        // Keep what the page finished before it ran out of time.
        let partial = null;
        try {
          // The page may be inside a long synchronous call: wait for it a little, not forever.
          const read = page ? page.evaluate(() => window.__partial ?? null) : null;
          partial = read ? await Promise.race([read, new Promise((ok) => setTimeout(() => ok(null), 30_000))]) : null;
        } catch { /* page gone */ }
        result = { engine, ...(partial ?? {}), error: `page did not finish: ${e && e.message ? e.message : e}` };
      } finally {
        if (page) await page.close().catch(() => {});
      }
      if (issues.length) result.consoleIssues = [...new Set(issues)];
      result.wallMs = Date.now() - t0;
      log(`chromium ${engine}: ${result.error ? `ERROR ${result.error.split('\n')[0]}` : 'done'} in ${(result.wallMs / 1000).toFixed(1)} s`);
      out.results.push(result);
      await onEngine(engine, 'end');
    }
  } finally {
    if (browser) await browser.close().catch(() => {});
    await server.close();
  }
  return out;
}
