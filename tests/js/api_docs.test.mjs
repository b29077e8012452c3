// The API reference (scripts/api_docs.mjs, `make docs`): generated into a
// temporary folder, every name the package exports is listed in index.html
// and linked to its entry, doc comments read from js/src appear on the pages,
// every kiln.layers factory has its entry, no signature rendered as
// `undefined`, every link inside the reference resolves, and the pages are
// well-formed for the tags the generator writes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const OUT = mkdtempSync(join(tmpdir(), 'kiln-api-docs-'));
const run = spawnSync(process.execPath, [join(ROOT, 'scripts/api_docs.mjs'), OUT], { encoding: 'utf8' });
const pages = run.status === 0 ? Object.fromEntries(readdirSync(OUT).map((f) => [f, readFileSync(join(OUT, f), 'utf8')])) : {};
const index = pages['index.html'] ?? '';
const LIB = join(ROOT, 'lib/index.js');
const kiln = existsSync(LIB) ? await import(pathToFileURL(LIB).href) : null;  // built by `make js`

const text = (html) => html.replace(/<[^>]*>/g, ' ').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"')
  .replace(/&amp;/g, '&').replace(/\s+/g, ' ');

// What an entry point exports, by the TypeScript checker (values and types).
function exportedNames(file) {
  const program = ts.createProgram([join(ROOT, file)], { target: ts.ScriptTarget.ES2020, module: ts.ModuleKind.ES2020,
    moduleResolution: ts.ModuleResolutionKind.Node10, strict: true, noEmit: true, skipLibCheck: true });
  const checker = program.getTypeChecker();
  return checker.getExportsOfModule(checker.getSymbolAtLocation(program.getSourceFile(join(ROOT, file)))).map((s) => s.getName());
}

// The /** ... */ comment right before the declaration `decl` (a regex source) in a js/src file, as plain text.
function jsdoc(file, decl) {
  const src = readFileSync(join(ROOT, 'js/src', file), 'utf8');
  const m = src.match(new RegExp(String.raw`/\*\*((?:(?!\*/)[\s\S])*)\*/\s*` + decl));
  assert.ok(m, `${file}: no doc comment before ${decl}`);
  return m[1].replace(/^\s*\*/gm, ' ').replace(/`/g, '').replace(/\s+/g, ' ').trim();
}

// index.html's link to `name`, resolved to [page, anchor or null].
function entryOf(name) {
  const m = index.match(new RegExp(`<a href="([^"#]+)(?:#([^"]+))?">${name}</a>`));
  assert.ok(m, `index.html has no link to ${name}`);
  return [m[1], m[2] ?? null];
}

test('the generator runs', () => {
  assert.equal(run.status, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /\d+ exported names/);
});

test('every name kiln and kiln/worker export is in index.html, linked to its entry', () => {
  const names = new Set([...exportedNames('js/src/index.ts'), ...exportedNames('js/src/worker.ts')]);
  // The built bundle's value exports too, where lib/ is built (independent of the TypeScript reading).
  if (kiln) {
    assert.ok(Object.keys(kiln).length > 100);
    for (const name of Object.keys(kiln)) names.add(name);
  }
  assert.ok(names.size > 150, `${names.size} names`);
  for (const name of names) {
    const [page, anchor] = entryOf(name);
    assert.ok(pages[page], `${name}: ${page} was not written`);
    if (anchor) assert.ok(pages[page].includes(`id="${anchor}"`), `${name}: ${page} has no #${anchor}`);
    else assert.match(pages[page], new RegExp(`<h1>${name} <span class="kind">`), `${name}: ${page} is not its page`);
  }
});

test('doc comments from js/src are on the pages', () => {
  for (const [name, file, decl, member] of [
    ['nextFrame', 'environment.ts', 'export function nextFrame\\('],
    ['dispose', 'engine.ts', 'export function dispose\\('],
    ['customGrad', 'autograd.ts', 'export function customGrad\\('],
    ['Tensor', 'tensor.ts', 'dispose\\(\\): void \\{', 'dispose'],
  ]) {
    const doc = jsdoc(file, decl);
    const [page, anchor] = entryOf(name);
    const id = member ? `${name}.${member}` : anchor;
    const html = pages[page], at = html.indexOf(`<section id="${id}">`);
    assert.ok(at >= 0, `${page}: no section ${id}`);
    const section = html.slice(at, html.indexOf('</section>', at));
    assert.ok(text(section).replace(/`/g, '').includes(doc), `${id}: "${doc}" not in ${page}:\n${text(section)}`);
  }
});

test('every kiln.layers factory (and kiln.layers.Layer) has an entry', (t) => {
  if (!kiln) return t.skip('lib/index.js is not built (make js)');
  const [page] = entryOf('layers');
  const factories = Object.keys(kiln.layers);
  assert.ok(factories.includes('dense') && factories.includes('lstm') && factories.length > 50);
  for (const f of factories)
    assert.match(pages[page], new RegExp(`<section id="layers\\.${f}"><h2>${f} <span class="kind">\\w+</span></h2>\\s*<pre class="sig">(<a [^>]*>)?${f}\\b`), f);
});

test('no signature is empty or undefined', () => {
  for (const [file, html] of Object.entries(pages)) {
    for (const [, sig] of html.matchAll(/<pre class="sig">([\s\S]*?)<\/pre>/g)) {
      const s = text(sig).trim();
      assert.ok(s && !/^(undefined|\[object Object\])|\(undefined|: undefined$|\bNaN\b/.test(s), `${file}: signature "${s}"`);
    }
    assert.doesNotMatch(html, /class="kind">(undefined)?</, file);
  }
});

test('pages are well-formed and their links resolve', () => {
  assert.ok(Object.keys(pages).length > 10);
  for (const [file, html] of Object.entries(pages)) {
    assert.ok(html.startsWith('<!doctype html>\n<html lang="en">') && html.trimEnd().endsWith('</body></html>'), file);
    for (const tag of ['html', 'head', 'title', 'style', 'body', 'nav', 'main', 'section', 'h1', 'h2', 'h3', 'h4', 'pre', 'p',
      'ul', 'li', 'dl', 'dt', 'dd', 'a', 'code', 'span']) {
      const open = html.match(new RegExp(`<${tag}[\\s>]`, 'g'))?.length ?? 0, close = html.split(`</${tag}>`).length - 1;
      assert.equal(open, close, `${file}: ${open} <${tag}> but ${close} </${tag}>`);
    }
    // No raw < in text: everything between tags is escaped.
    assert.doesNotMatch(html.replace(/<style>[\s\S]*?<\/style>/, ''), /<(?![a-z/!])/, file);
    for (const [, target, anchor] of html.matchAll(/href="([^"#]*)(?:#([^"]*))?"/g)) {
      const page = target || file;
      assert.ok(pages[page], `${file}: link to missing ${page}`);
      if (anchor) assert.ok(pages[page].includes(`id="${anchor}"`), `${file}: link to missing ${page}#${anchor}`);
    }
  }
});
