// The study report: markdown tables (study.md, docs/STUDY.md) and one
// self-contained HTML page (report.html) with the figures drawn as log-scale
// SVG plots, readable offline (no scripts, no fetches).
import { fmt, table } from '../common/markdown.mjs';

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
/** A table cell's text: numbers formatted, Table 1's { text, source, judgement } cells as text (* = judgement). */
const cellText = (c) => (c && typeof c === 'object' ? `${c.text}${c.judgement ? '*' : ''}` : typeof c === 'number' ? fmt(c) : c ?? 'n/a');

function machineLine(s) {
  const m = s.machine ?? {};
  return `${m.cpuModel ?? 'unknown CPU'}, ${m.logicalCpus ?? '?'} logical CPUs, ${m.memGiB ?? '?'} GiB; ${m.os ?? ''}; Node ${m.node ?? '?'}` +
    `${s.chromium ? `; Chromium ${s.chromium}` : ''}; load average at start ${(m.loadavgStart ?? []).map((x) => x.toFixed(2)).join(' ')}, at end ${(m.loadavgEnd ?? []).map((x) => x.toFixed(2)).join(' ')}`;
}

function figureAsTable(f) {
  return table(['', ...f.series.map((s) => s.label)], f.xLabels.map((x, i) => [x, ...f.series.map((s) => fmt(s.points[i]?.y))]));
}

export function renderMarkdown(s) {
  const out = [`# The study, reproduced (${s.mode ?? 'unknown'} run, ${s.generated.slice(0, 10)})`, '',
    `Machine: ${machineLine(s)}.`, '', `GPUs: ${s.gpus.length ? s.gpus.join('; ') : 'none used'}.`, ''];
  out.push('## Findings', '');
  for (const f of s.findings) out.push(`${f.n}. **${f.study}** Today: ${f.today} ${f.kiln ? `Kiln: ${f.kiln}` : ''}`.trim());
  out.push('');
  for (const t of s.tables) {
    out.push(`## ${t.title}`, '', table(t.head.map(String), t.rows.map((r) => r.map(cellText))), '');
    for (const n of t.notes ?? []) out.push(`- ${n}`);
    out.push('');
  }
  for (const f of s.figures) {
    out.push(`## ${f.title} (${f.yLabel})`, '', figureAsTable(f), '');
    for (const n of f.notes ?? []) out.push(`- ${n}`);
    out.push('');
  }
  if (s.tree?.root) out.push('## The decision tree', '', `${s.tree.method} on ${s.tree.rows} rows of ${s.tree.target}; R² ${s.tree.r2.toFixed(2)}.`, '');
  if (s.missing.length) out.push('## Not measured in this run', '', ...s.missing.map((m) => `- ${m}`), '');
  if (s.problems.length) out.push('## Problems', '', ...s.problems.map((p) => `- ${p}`), '');
  if (s.notes?.length) out.push('## Notes', '', ...s.notes.map((p) => `- ${p}`), '');
  return out.join('\n');
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf', '#393b79', '#637939', '#843c39', '#7b4173'];

/** One figure as an SVG plot: categories on x, a log-scale y, a line per series, whiskers for the spread. */
function svgPlot(f) {
  const W = 860, H = 360, L = 70, R = 250, T = 20, B = 60;
  const ys = f.series.flatMap((s) => s.points.flatMap((p) => [p.y, p.lo, p.hi])).filter((v) => Number.isFinite(v) && v > 0);
  if (!ys.length) return `<svg data-figure="${esc(f.id)}" data-points="0" width="${W}" height="40"><text x="10" y="25">no data</text></svg>`;
  let lo = Math.floor(Math.log10(Math.min(...ys))), hi = Math.ceil(Math.log10(Math.max(...ys)));
  if (hi === lo) hi = lo + 1;
  const px = (i) => L + ((i + 0.5) * (W - L - R)) / f.xLabels.length;
  const py = (v) => T + ((hi - Math.log10(v)) * (H - T - B)) / (hi - lo);
  const parts = [];
  for (let e = lo; e <= hi; e++) {
    parts.push(`<line x1="${L}" x2="${W - R}" y1="${py(10 ** e)}" y2="${py(10 ** e)}" stroke="#ddd"/>`);
    parts.push(`<text x="${L - 6}" y="${py(10 ** e) + 4}" text-anchor="end" font-size="11">${esc(fmt(10 ** e))}</text>`);
  }
  f.xLabels.forEach((x, i) => parts.push(`<text x="${px(i)}" y="${H - B + 16}" text-anchor="middle" font-size="11">${esc(x)}</text>`));
  parts.push(`<text x="14" y="${(H - B + T) / 2}" font-size="12" transform="rotate(-90 14 ${(H - B + T) / 2})" text-anchor="middle">${esc(f.yLabel)} (log scale)</text>`);
  let points = 0;
  f.series.forEach((s, k) => {
    const color = PALETTE[k % PALETTE.length];
    const pts = s.points.map((p, i) => (Number.isFinite(p.y) && p.y > 0 ? [px(i), py(p.y), p] : null));
    const path = pts.filter(Boolean).map(([x, y], i) => `${i ? 'L' : 'M'}${x.toFixed(1)},${y.toFixed(1)}`).join(' ');
    if (path) parts.push(`<path d="${path}" fill="none" stroke="${color}" stroke-width="1.5"/>`);
    for (const q of pts) {
      if (!q) continue;
      const [x, y, p] = q;
      if (Number.isFinite(p.lo) && Number.isFinite(p.hi) && p.lo > 0) parts.push(`<line x1="${x}" x2="${x}" y1="${py(p.hi)}" y2="${py(p.lo)}" stroke="${color}"/>`);
      parts.push(`<circle data-point="1" cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="3" fill="${color}"><title>${esc(`${s.label}, ${p.x}: ${fmt(p.y)}`)}</title></circle>`);
      points++;
    }
    parts.push(`<rect x="${W - R + 10}" y="${T + k * 16}" width="10" height="10" fill="${color}"/><text x="${W - R + 26}" y="${T + k * 16 + 9}" font-size="11">${esc(s.label)}</text>`);
  });
  return `<svg data-figure="${esc(f.id)}" data-points="${points}" width="${W}" height="${Math.max(H, T + f.series.length * 16 + 10)}" xmlns="http://www.w3.org/2000/svg" font-family="sans-serif">${parts.join('')}</svg>`;
}

/** The decision tree as nested boxes in SVG. */
function svgTree(tree) {
  if (!tree?.root) return `<p data-tree="none">No tree: ${esc(tree?.error ?? 'not fitted')}.</p>`;
  const leaves = [];
  const layout = (n, depth) => {
    n.depth = depth;
    if (!n.left) { n.x = leaves.length; leaves.push(n); return; }
    layout(n.left, depth + 1);
    layout(n.right, depth + 1);
    n.x = (n.left.x + n.right.x) / 2;
  };
  layout(tree.root, 0);
  const BW = 150, BH = 46, GX = 160, GY = 80;
  const parts = [];
  let nodes = 0;
  const draw = (n) => {
    const x = 10 + n.x * GX, y = 10 + n.depth * GY;
    const text = n.left ? [`${n.feature} ≤ ${fmt(n.threshold)}`, `n=${n.samples}, mean ${fmt(n.value)}`] : [`ratio ${fmt(n.value)}`, `n=${n.samples}`];
    parts.push(`<rect data-node="1" x="${x}" y="${y}" width="${BW}" height="${BH}" rx="6" fill="${n.left ? '#eef' : '#efe'}" stroke="#889"/>`);
    text.forEach((t, i) => parts.push(`<text x="${x + BW / 2}" y="${y + 18 + i * 16}" text-anchor="middle" font-size="11">${esc(t)}</text>`));
    nodes++;
    for (const [c, lbl] of [[n.left, 'yes'], [n.right, 'no']]) {
      if (!c) continue;
      const cx = 10 + c.x * GX + BW / 2, cy = 10 + c.depth * GY;
      parts.push(`<line x1="${x + BW / 2}" y1="${y + BH}" x2="${cx}" y2="${cy}" stroke="#889"/><text x="${(x + BW / 2 + cx) / 2 + 4}" y="${(y + BH + cy) / 2}" font-size="10">${lbl}</text>`);
      draw(c);
    }
  };
  draw(tree.root);
  const depth = Math.max(...leaves.map((l) => l.depth));
  return `<svg data-figure="tree" data-points="${nodes}" width="${20 + leaves.length * GX}" height="${20 + (depth + 1) * GY}" xmlns="http://www.w3.org/2000/svg" font-family="sans-serif">${parts.join('')}</svg>`;
}

function htmlTable(t) {
  const head = `<tr>${t.head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>`;
  const rows = t.rows.map((r) => `<tr>${r.map((c, i) => {
    const title = c && typeof c === 'object' && c.source ? ` title="${esc(c.source)}"` : '';
    return i === 0 ? `<th${title}>${esc(cellText(c))}</th>` : `<td${title}>${esc(cellText(c))}</td>`;
  }).join('')}</tr>`).join('\n');
  return `<table data-table="${esc(t.id)}"><thead>${head}</thead><tbody>${rows}</tbody></table>`;
}

export function renderHtml(s) {
  const sec = [];
  sec.push(`<h2>The eight findings, revisited</h2><ol>${s.findings.map((f) => `<li><b>${esc(f.study)}</b><br>Today: ${esc(f.today)}` +
    `${f.holds === null ? '' : ` <i>(${f.holds ? 'still holds' : 'no longer holds'})</i>`}${f.kiln ? `<br>Kiln: ${esc(f.kiln)}` : ''}</li>`).join('')}</ol>`);
  for (const t of s.tables)
    sec.push(`<h2>${esc(t.title)}</h2>${htmlTable(t)}${(t.notes ?? []).map((n) => `<p class="note">${esc(n)}</p>`).join('')}`);
  for (const f of s.figures)
    sec.push(`<h2>${esc(f.title)}</h2>${svgPlot(f)}${(f.notes ?? []).map((n) => `<p class="note">${esc(n)}</p>`).join('')}`);
  sec.push(`<h2>The decision tree (RQ3)</h2>${s.tree?.root ? `<p>${esc(`${s.tree.method}, ${s.tree.rows} rows, target ${s.tree.target}, R² ${s.tree.r2.toFixed(2)}. ` +
    `Features: ${s.tree.features.map((f) => `${f.name} (${f.meaning})`).join('; ')}.`)}</p>` : ''}${svgTree(s.tree)}`);
  if (s.missing.length) sec.push(`<h2>Not measured in this run</h2><ul>${s.missing.map((m) => `<li>${esc(m)}</li>`).join('')}</ul>`);
  if (s.problems.length) sec.push(`<h2>Problems</h2><ul>${s.problems.map((m) => `<li>${esc(m)}</li>`).join('')}</ul>`);
  if (s.notes?.length) sec.push(`<h2>Notes</h2><ul>${s.notes.map((m) => `<li>${esc(m)}</li>`).join('')}</ul>`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Kiln: the study reproduced</title>
<style>body{font-family:sans-serif;max-width:1150px;margin:2em auto;padding:0 1em;color:#222}table{border-collapse:collapse;margin:.5em 0;font-size:13px}
td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}th{background:#f4f4f4}tbody th{text-align:left;font-weight:normal}.note{font-size:12px;color:#555;margin:.2em 0}
svg{display:block;margin:.5em 0;overflow:visible}</style></head>
<body><h1>Moving deep learning into the web browser: how far can we go, today?</h1>
<p>Ma et al.'s study (WWW 2019) reproduced by <code>make study</code> (${esc(s.mode ?? '')} run, ${esc(s.generated)}).</p>
<p>Machine: ${esc(machineLine(s))}.</p><p>GPUs: ${esc(s.gpus.length ? s.gpus.join('; ') : 'none used')}.</p>
${sec.join('\n')}
</body></html>
`;
}
