// Hostile and broken input through kiln's public API in Node (issue #15):
// the shared checks of hostile_checks.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as kiln from 'kiln';
import { ready } from './helpers.mjs';
import { hostileChecks } from './hostile_checks.mjs';
import { hostileFixtures } from './hostile_fixtures.mjs';

await ready();

test('hostile input ends in clear errors and leaves the module working', async (t) => {
  const done = await hostileChecks(kiln, hostileFixtures());
  t.diagnostic(done.join('; '));
  assert.equal(done.length, 19, done.join("; "));
});
