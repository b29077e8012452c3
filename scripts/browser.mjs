// Headless Chromium (Debian's /usr/bin/chromium) driven by playwright-core,
// with the flags that work as root on a machine with no network.
import { chromium } from 'playwright-core';

/**
 * { webgpu: true } exposes navigator.gpu (--enable-unsafe-webgpu; headless Chromium without a GPU
 * gives SwiftShader's fallback adapter). { gpu: true } (implied by webgpu) leaves the GPU process on
 * for the WebGL and WebGPU benchmark engines, ignoring the blocklist, so that a machine with a GPU
 * uses it (without one Chromium falls back to SwiftShader); KILN_CHROMIUM_GPU_FLAGS adds flags such
 * a machine's driver may need (space-separated, e.g. --use-angle=vulkan). Other pages run with
 * --disable-gpu.
 */
export async function launchBrowser({ webgpu = false, gpu = webgpu } = {}) {
  const gpuFlags = gpu ? ['--ignore-gpu-blocklist', ...(process.env.KILN_CHROMIUM_GPU_FLAGS ?? '').split(/\s+/).filter(Boolean)] : ['--disable-gpu'];
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--no-first-run', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--disable-quic', ...(webgpu ? ['--enable-unsafe-webgpu'] : []), ...gpuFlags],
  });
}

/** Opens `url`, forwards the page's console to ours (with a prefix), returns the page. */
export async function openPage(browser, url, prefix = '[chromium]') {
  const page = await browser.newPage();
  page.on('console', (m) => console.log(`${prefix} ${m.text()}`));
  page.on('pageerror', (e) => console.log(`${prefix} page error: ${e.message}`));
  await page.goto(url);
  return page;
}

/**
 * The demo-page tests' setup: an isolated server, a browser and a page whose
 * errors (page errors, console errors, HTTP >= 400) collect in `errors`; both
 * close when the test `t` ends.
 */
export async function demoPage(t, viewport = { width: 1280, height: 1000 }) {
  const { serve } = await import('./serve.mjs');
  const server = await serve({ isolated: true });
  const browser = await launchBrowser();
  t.after(async () => { await browser.close(); await server.close(); });
  const page = await browser.newPage({ viewport });
  const errors = [];
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console error: ${m.text()}`); });
  page.on('response', (r) => { if (r.status() >= 400) errors.push(`HTTP ${r.status()}: ${r.url()}`); });
  return { server, page, errors };
}
