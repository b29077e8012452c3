// A static file server for the repo root on 127.0.0.1, used by the demo, the
// browser tests and the benchmark. With `isolated` it sends COOP/COEP headers
// so pages are cross-origin isolated (wasm threads); without, they are not.
//   node scripts/serve.mjs [--port 8080] [--no-isolation]
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript', '.json': 'application/json',
  '.wasm': 'application/wasm', '.css': 'text/css', '.png': 'image/png', '.svg': 'image/svg+xml', '.md': 'text/plain',
  '.gz': 'application/gzip',
};

// Read-only data from Debian packages, served under these URL prefixes.
const MOUNTS = { '/debian/common-licenses/': '/usr/share/common-licenses/', '/datasets/': '/usr/share/datasets/' };

/** The file a URL path names: under a mount, else under root; null when it escapes both. */
function fileFor(root, path) {
  for (const [prefix, dir] of Object.entries(MOUNTS)) {
    if (!path.startsWith(prefix)) continue;
    const file = normalize(join(dir, path.slice(prefix.length)));
    return file.startsWith(dir) ? file : null;
  }
  const file = normalize(join(root, path.endsWith('/') ? path + 'index.html' : path));
  return file.startsWith(root) ? file : null;
}

export async function serve({ port = 0, isolated = true, root = ROOT } = {}) {
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    const file = fileFor(root, path);
    if (!file) return res.writeHead(403).end();
    try {
      if (!(await stat(file)).isFile()) throw new Error('not a file');
      const headers = { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', 'Cache-Control': 'no-store' };
      if (isolated) {
        headers['Cross-Origin-Opener-Policy'] = 'same-origin';
        headers['Cross-Origin-Embedder-Policy'] = 'require-corp';
        headers['Cross-Origin-Resource-Policy'] = 'same-origin';
      }
      res.writeHead(200, headers).end(await readFile(file));
    } catch {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
    }
  });
  await new Promise((ok) => server.listen(port, '127.0.0.1', ok));
  const url = `http://127.0.0.1:${server.address().port}/`;
  return { url, close: () => new Promise((ok) => server.close(ok)) };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const port = args.includes('--port') ? Number(args[args.indexOf('--port') + 1]) : 8080;
  const { url } = await serve({ port, isolated: !args.includes('--no-isolation') });
  console.log(`serving ${ROOT} at ${url} (demo page: ${url}web/)`);
}
