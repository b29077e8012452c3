// "Measure one build": fingerprints of the Kiln files a benchmark loads, a
// private copy of them taken at the start, and a wait for a build in progress
// to settle. The generalized form of buildFingerprint / makeSnapshot /
// waitForSettledBuild in bench/run_mlp.mjs (file lists and the copied paths
// are parameters instead of constants).
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, symlinkSync } from 'node:fs';
import { createHash } from 'node:crypto';
import os from 'node:os';
import { dirname, join } from 'node:path';

/** lib/*.js and lib/wasm/* under `root` (relative paths), the files a page or Node process loads for Kiln. */
export function kilnLibFiles(root) {
  const list = (d, pred) => { try { return readdirSync(join(root, d)).filter(pred).sort().map((f) => `${d}/${f}`); } catch { return []; } };
  return [...list('lib', (f) => f.endsWith('.js')), ...list('lib/wasm', () => true)];
}

/** { path: { sha256 (first 12 hex digits), mtime } | null } for each path. */
export function fingerprint(root, files) {
  const out = {};
  for (const f of files) {
    try {
      const bytes = readFileSync(join(root, f));
      out[f] = { sha256: createHash('sha256').update(bytes).digest('hex').slice(0, 12), mtime: statSync(join(root, f)).mtime.toISOString() };
    } catch {
      out[f] = null;
    }
  }
  return out;
}

/** Waits (up to `maxWaitMs`) until none of `files` changed in the last `quietMs`, so a copy does not catch a build half-written. */
export async function waitForSettled(root, files, { quietMs = 15_000, maxWaitMs = 60_000, log = () => {} } = {}) {
  const newest = () => Math.max(0, ...files.map((f) => { try { return statSync(join(root, f)).mtimeMs; } catch { return 0; } }));
  for (let waited = 0; Date.now() - newest() < quietMs && waited < maxWaitMs; waited += 2000) {
    if (waited === 0) log(`Kiln files changed in the last ${quietMs / 1000} s; waiting for the build to settle`);
    await new Promise((r) => setTimeout(r, 2000));
  }
}

/**
 * A private root for the static server and the Node workers: `copy` paths
 * (directories or files) copied from `root`, `link` paths symlinked. Returns
 * its directory (in the OS temp dir; the caller removes it).
 */
export function makeSnapshot(root, { copy = ['lib'], link = ['bench', 'node_modules', 'web'], prefix = 'kiln-bench-' } = {}) {
  const dir = mkdtempSync(join(os.tmpdir(), prefix));
  for (const p of copy) {
    if (!existsSync(join(root, p))) continue;
    mkdirSync(dirname(join(dir, p)), { recursive: true });
    cpSync(join(root, p), join(dir, p), { recursive: true, preserveTimestamps: true });
    if (statSync(join(root, p)).isFile() && statSync(join(root, p)).mode & 0o111) chmodSync(join(dir, p), 0o755);
  }
  for (const p of link) if (existsSync(join(root, p))) symlinkSync(join(root, p), join(dir, p));
  return dir;
}
