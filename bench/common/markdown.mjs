// Number formatting and table helpers for the markdown benchmark reports (the
// same formatting as bench/mlp/report.mjs, which keeps its own private copy).
export const fmt = (x) => {
  if (x === null || x === undefined || !Number.isFinite(x)) return 'n/a';
  if (x >= 100) return x.toFixed(0);
  if (x >= 10) return x.toFixed(1);
  if (x >= 1) return x.toFixed(2);
  return x.toPrecision(3);
};
export const fmtRatio = (x) => (x === null || x === undefined || !Number.isFinite(x) ? 'n/a' : `${x >= 10 ? x.toFixed(1) : x.toFixed(2)}×`);
export const row = (cells) => `| ${cells.join(' | ')} |`;
export const table = (head, rows, align) =>
  [row(head), row(head.map((_, i) => (align ? align[i] : i === 0 ? '---' : '---:'))), ...rows.map(row)].join('\n');
/** First line of an error, shortened, safe inside a table cell. */
export const errLine = (e, max = 160) => {
  const s = String(e ?? '').split('\n')[0].replace(/(^|: )Error: /, '$1').replace(/\|/g, '\\|');
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
};
