// Hostile and broken input in headless Chromium (threaded wasm, issue #15):
// the checks of tests/js/hostile_checks.mjs run inside the page, where a
// trap or an abort would kill the page's module for good.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { demoPage } from '../../scripts/browser.mjs';
import { hostileFixtures } from '../js/hostile_fixtures.mjs';

test('hostile input ends in clear errors and leaves the page module working', { timeout: 120_000 }, async (t) => {
  const { server, page, errors } = await demoPage(t);
  await page.goto(`${server.url}web/index.html`);
  const files = Object.fromEntries(Object.entries(hostileFixtures()).map(([k, v]) => [k, Array.from(v)]));
  const done = await page.evaluate(async (files) => {
    const kiln = await import('/lib/index.js');
    await kiln.ready({ quiet: true });
    const { hostileChecks } = await import('/tests/js/hostile_checks.mjs');
    return hostileChecks(kiln, Object.fromEntries(Object.entries(files).map(([k, v]) => [k, Uint8Array.from(v)])));
  }, files);
  t.diagnostic(done.join('; '));
  assert.equal(done.length, 19, done.join("; "));
  assert.deepEqual(errors, []);
});
