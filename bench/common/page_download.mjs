// What a benchmark page downloaded for its library: the network responses the
// page itself saw (resource timing: path and encodedBodySize), less the harness
// and the model files, and the gzip -9 size of each file (the local server
// sends them uncompressed; a CDN would compress them).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { constants, gzipSync } from 'node:zlib';

/** A file's bytes and gzip -9 bytes ({ path, missing: true } when it is not there). */
export function fileSize(root, path) {
  const abs = join(root, path);
  if (!existsSync(abs)) return { path, missing: true };
  const bytes = readFileSync(abs);
  return { path, bytes: bytes.length, gzip: gzipSync(bytes, { level: constants.Z_BEST_COMPRESSION }).length };
}

// Not the library: model files (build/), the harness (bench/ pages, web/random.js) and the package.json
// a page reads for the version.
const isLibrary = (path) => !path.startsWith('/build/') && !path.startsWith('/web/') && !path.endsWith('/package.json') &&
  (!path.startsWith('/bench/') || path.startsWith('/bench/peers/node_modules/'));

/**
 * @param root       the served folder
 * @param resources  [{ path, encodedBodySize }] from the page (page_loading.mjs's pageResources())
 * @returns          { files, bytes (network), gzipBytes }
 */
export function pageDownload(root, resources) {
  const byPath = new Map();
  for (const r of resources) if (isLibrary(r.path) && !byPath.has(r.path)) byPath.set(r.path, r);
  const files = [...byPath.values()].sort((a, b) => a.path.localeCompare(b.path));
  return {
    files: files.map((f) => f.path),
    bytes: files.reduce((n, f) => n + f.encodedBodySize, 0),
    gzipBytes: files.reduce((n, f) => n + (fileSize(root, f.path).gzip ?? 0), 0),
  };
}
