// Headless Chromium (Debian's /usr/bin/chromium) driven by playwright-core,
// with the flags that work as root on a machine with no network.
import { chromium } from 'playwright-core';

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--no-first-run', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--disable-gpu', '--disable-quic'],
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
