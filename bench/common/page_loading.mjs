// Loading helpers shared by the benchmark pages (they run in the browser).

/** Runs a classic script (TF.js's tf.min.js and its wasm backend define globals). */
export function loadScript(src) {
  return new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = src;
    s.onload = resolve;
    s.onerror = () => reject(new Error(`could not load ${src}`));
    document.head.appendChild(s);
  });
}

/** The bytes at `url`, or an error naming it and the HTTP status. */
export async function fetchBytes(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

/** The network responses this page has had so far (resource timing), as { path, encodedBodySize }. */
export function pageResources() {
  return performance.getEntriesByType('resource').map((r) => ({ path: new URL(r.name).pathname, encodedBodySize: r.encodedBodySize }));
}
