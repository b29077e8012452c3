// Opens the study's report.html in headless Chromium and checks what a reader
// would: every figure has data points, every table has rows and every row a
// value. Returns { figures, tables, problems }.
import { pathToFileURL } from 'node:url';
import { launchBrowser } from '../../scripts/browser.mjs';

export async function checkReport(htmlPath) {
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(pathToFileURL(htmlPath).href);
    const got = await page.evaluate(() => {
      const figures = [...document.querySelectorAll('svg[data-figure]')].map((s) => ({
        id: s.dataset.figure, points: s.querySelectorAll('[data-point], [data-node]').length, width: s.getBoundingClientRect().width }));
      const tables = [...document.querySelectorAll('table[data-table]')].map((t) => ({
        id: t.dataset.table,
        rows: [...t.tBodies[0].rows].map((r) => ({ label: r.cells[0].textContent, values: [...r.cells].slice(1).map((c) => c.textContent) })) }));
      return { figures, tables, h1: document.querySelector('h1')?.textContent ?? '' };
    });
    const problems = [...errors];
    if (!got.h1) problems.push('the page has no title heading');
    for (const f of got.figures) {
      if (!f.points) problems.push(`figure ${f.id} has no data`);
      if (!(f.width > 0)) problems.push(`figure ${f.id} is not drawn`);
    }
    if (!got.figures.some((f) => f.id === 'tree')) problems.push('the decision tree is not drawn');
    for (const t of got.tables) {
      if (!t.rows.length) problems.push(`table ${t.id} has no rows`);
      for (const r of t.rows) if (!r.values.some((v) => v && v !== 'n/a')) problems.push(`table ${t.id}, row ${r.label}: no values`);
    }
    return { figures: got.figures.length, tables: got.tables.length, problems };
  } finally {
    await browser.close();
  }
}
