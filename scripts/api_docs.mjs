// The API reference (issue #14): static HTML pages generated from the
// TypeScript sources. `node scripts/api_docs.mjs <outdir>` (`make docs` writes
// build/docs/api). Hand-written on the TypeScript compiler API rather than
// TypeDoc: TypeDoc is not among the dev dependencies and cannot be installed
// offline, and this keeps the package free of a new dependency; `typescript`
// (already used to build lib/) is all it needs.
//
// It walks what each entry point exports (js/src/index.ts for 'kiln',
// js/src/worker.ts for 'kiln/worker'), aliases resolved, and writes
// index.html (every name, grouped by kind) plus a page per class, namespace
// (kiln.io, kiln.onnx, ...) and exported object (kiln.layers, kiln.losses,
// ...), and one page each for the functions, types and constants. Each entry
// shows its signatures as the checker prints them, its JSDoc text and tags,
// and its members; members tagged @internal or named `_...` are left out.
import ts from 'typescript';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const ENTRIES = [
  { module: 'kiln', file: 'js/src/index.ts', prefix: '' },
  { module: 'kiln/worker', file: 'js/src/worker.ts', prefix: 'worker.' },
];
const GROUPS = [['function', 'Functions'], ['class', 'Classes'], ['namespace', 'Namespaces and objects'],
  ['type', 'Interfaces and types'], ['constant', 'Enums and constants']];
const SHARED_PAGE = { function: 'functions', type: 'types', constant: 'constants' };
const TYPE_FLAGS = ts.TypeFormatFlags.UseAliasDefinedOutsideCurrentScope | ts.TypeFormatFlags.UseSingleQuotesForStringLiteralType |
  ts.TypeFormatFlags.NoTruncation;
const MAX_TYPE = 600;  // characters of one printed type or alias body, then "..."

const outDir = process.argv[2];
if (!outDir) { console.error('usage: node scripts/api_docs.mjs <outdir>'); process.exit(2); }

const config = ts.readConfigFile(join(ROOT, 'tsconfig.json'), ts.sys.readFile);
const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, ROOT);
const program = ts.createProgram(ENTRIES.map((e) => join(ROOT, e.file)), { ...parsed.options, noEmit: true });
const checker = program.getTypeChecker();

// ---- reading the program ----------------------------------------------------

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const clip = (s) => (s.length > MAX_TYPE ? s.slice(0, MAX_TYPE) + ' ...' : s);
const resolve = (sym) => (sym.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(sym) : sym);
const declOf = (sym) => sym.valueDeclaration ?? sym.declarations?.[0];
const typeOf = (sym) => checker.getTypeOfSymbolAtLocation(sym, declOf(sym));
const print = (type, at) => clip(dropUndefined(checker.typeToString(type, at, TYPE_FLAGS)));
// `x?: T | undefined` (strict mode's reading of an optional parameter) printed as written: `x?: T`.
function dropUndefined(text) {
  let out = '', i = 0;
  for (let k; (k = text.indexOf('?: ', i)) >= 0; i = k) {
    out += text.slice(i, k);
    let j = k + 3, depth = 0;
    for (; j < text.length; j++) {
      const c = text[j];
      if (c === '=' && text[j + 1] === '>') j++;
      else if ('([{<'.includes(c)) depth++;
      else if (')]}>'.includes(c) && depth-- === 0) break;
      else if (',;'.includes(c) && depth === 0) break;
    }
    out += text.slice(k, j).replace(/ \| undefined$/, '');
    k = j;
  }
  return out + text.slice(i);
}
const sigText = (sig, at) => clip(dropUndefined(checker.signatureToString(sig, at, TYPE_FLAGS)));
// Source text of a declaration or type annotation, comments dropped, on one line.
const source = (node) => clip(node.getText().replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '').replace(/\s+/g, ' ').replace(/^export /, '').trim());

// The JSDoc of a symbol; for `{ add, sub }` shorthand members, that of the function named.
function docOf(sym) {
  let text = ts.displayPartsToString(sym.getDocumentationComment(checker));
  let tags = sym.getJsDocTags(checker);
  const decl = declOf(sym);
  if (!text && !tags.length && decl) {
    const target = ts.isShorthandPropertyAssignment(decl) ? checker.getShorthandAssignmentValueSymbol(decl)
      : ts.isPropertyAssignment(decl) && ts.isIdentifier(decl.initializer) ? checker.getSymbolAtLocation(decl.initializer) : undefined;
    if (target && target !== sym) return docOf(resolve(target));
  }
  return { text, tags: tags.map((t) => ({ name: t.name, text: ts.displayPartsToString(t.text ?? []) })) };
}

// Type parameter names in scope at a declaration (Dataset<T>'s `T` is not ops.ts's `T`).
function typeParams(decl, sigs = []) {
  const names = new Set(sigs.flatMap((s) => (s.getTypeParameters() ?? []).map((t) => t.symbol.getName())));
  for (let n = decl; n; n = n.parent)
    for (const fn of [n, n.initializer]) for (const t of fn?.typeParameters ?? []) names.add(t.name.text);
  return names;
}

function hidden(sym) {
  const name = sym.getName();
  if (name.startsWith('_') || name.startsWith('#') || name === 'prototype') return true;
  if (sym.getJsDocTags(checker).some((t) => t.name === 'internal')) return true;
  return (sym.declarations ?? []).some((d) => ts.getCombinedModifierFlags(d) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected));
}

function kindOf(sym) {
  const f = sym.flags;
  if (f & ts.SymbolFlags.Class) return 'class';
  if (f & ts.SymbolFlags.Function) return 'function';
  if (f & ts.SymbolFlags.ValueModule) return 'namespace';
  if (f & ts.SymbolFlags.Enum) return 'constant';
  if (f & ts.SymbolFlags.Variable) {
    const type = typeOf(sym);
    if (type.getCallSignatures().length) return 'function';
    return type.getProperties().length || type.getStringIndexType() ? 'namespace' : 'constant';
  }
  return 'type';
}

// The file's opening // comment (a namespace's description).
function headerComment(file) {
  const text = file.getFullText();
  return (ts.getLeadingCommentRanges(text, 0) ?? []).filter((r) => r.kind === ts.SyntaxKind.SingleLineCommentTrivia)
    .map((r) => text.slice(r.pos + 2, r.end).trim()).join(' ').trim();
}

// An object typed Record<string, F> lists no keys: they are read from the
// object literals its initializer draws on, through the variables it names
// (kiln.layers: factories, built from CLASSES and ALIASES), each with the
// value it maps to.
function keysFromInitializer(sym) {
  const keys = [], seen = new Set();
  const visit = (node) => {
    const d = ts.isIdentifier(node) && checker.getSymbolAtLocation(node)?.valueDeclaration;
    if (d && !seen.has(d) && ts.isVariableDeclaration(d) && d.initializer) {
      seen.add(d);
      if (!ts.isObjectLiteralExpression(d.initializer)) visit(d.initializer);
      else for (const p of d.initializer.properties)
        if (ts.isPropertyAssignment(p) && !keys.some((k) => k.name === p.name.getText()))
          keys.push({ name: p.name.getText(), note: `${d.name.getText()}: ${p.initializer.getText()}` });
    }
    ts.forEachChild(node, visit);
  };
  seen.add(declOf(sym));
  if (declOf(sym)?.initializer) visit(declOf(sym).initializer);
  return keys;
}

// What an entry is made of: [{name, sym?, sigs, doc, kind, note?}].
function membersOf(sym, kind) {
  if (kind === 'namespace' && sym.flags & ts.SymbolFlags.ValueModule)
    return checker.getExportsOfModule(sym).filter((m) => !hidden(m)).map((m) => entry(m.getName(), resolve(m)));
  if (sym.flags & ts.SymbolFlags.Enum)
    return checker.getExportsOfModule(sym).map((m) => ({ name: m.getName(), kind: 'member', sigs: [`${m.getName()} = ${JSON.stringify(checker.getConstantValue(m.valueDeclaration))}`], doc: docOf(m) }));
  const list = [];
  if (kind === 'class') {
    for (const m of typeOf(sym).getProperties()) if (!hidden(m)) list.push(member(m, 'static ', kind));
  }
  const type = kind === 'namespace' ? typeOf(sym) : checker.getDeclaredTypeOfSymbol(sym);
  for (const m of type.getProperties()) if (!hidden(m)) list.push(member(m, '', kind));
  if (kind === 'namespace' && type.getStringIndexType()) {
    const value = type.getStringIndexType();
    for (const k of keysFromInitializer(sym)) if (!list.some((m) => m.name === k.name))
      list.push({ name: k.name, kind: 'function', note: k.note, doc: { text: '', tags: [] },
        sigs: value.getCallSignatures().map((s) => k.name + sigText(s)) });
  }
  return list;
}

function member(m, prefix, parentKind) {
  const decl = declOf(m), type = typeOf(m), name = m.getName();
  const calls = m.flags & ts.SymbolFlags.Property && !type.getProperties().length || m.flags & ts.SymbolFlags.Method ? type.getCallSignatures() : [];
  if (!calls.length && decl && ts.isObjectLiteralElementLike(decl) && !ts.isMethodDeclaration(decl) && type.getProperties().length &&
      !type.getCallSignatures().length && !type.getSymbol()?.declarations?.some(ts.isClassLike))  // an object in an object: kiln.train.schedules
    return { name, sym: m, kind: 'namespace', sigs: [name], doc: docOf(m), tparams: new Set(),
      members: type.getProperties().filter((p) => !hidden(p)).map((p) => member(p, '', 'namespace')) };
  let sigs;
  if (calls.length) sigs = calls.map((s) => `${prefix}${name}${sigText(s, decl)}`);
  else {
    // As annotated where it is (`dtype: DataType`, not the checker's `keyof DataTypeMap`).
    const annotated = decl && (ts.isPropertyDeclaration(decl) || ts.isPropertySignature(decl) || ts.isGetAccessor(decl)) && decl.type;
    const getterOnly = m.flags & ts.SymbolFlags.GetAccessor && !(m.flags & ts.SymbolFlags.SetAccessor);
    const ro = getterOnly || (decl && ts.getCombinedModifierFlags(decl) & ts.ModifierFlags.Readonly) ? 'readonly ' : '';
    const opt = m.flags & ts.SymbolFlags.Optional ? '?' : '';
    sigs = [`${prefix}${ro}${name}${opt}: ${annotated ? source(annotated) : print(type, decl).replace(opt ? / \| undefined$/ : /$^/, '')}`];
  }
  const kind = !calls.length ? 'property' : parentKind === 'namespace' ? 'function' : 'method';
  return { name, sym: m, kind, sigs, doc: docOf(m), tparams: typeParams(decl, calls) };
}

function entry(name, sym) {
  const kind = kindOf(sym), decl = declOf(sym);
  let sigs = [], calls = kind === 'function' ? typeOf(sym).getCallSignatures() : [];
  if (kind === 'function') sigs = calls.map((s) => name + sigText(s, decl));
  else if (kind === 'class') {
    const d = sym.declarations.find(ts.isClassDeclaration);
    const heritage = (d?.heritageClauses ?? []).map((h) => ' ' + h.getText()).join('');
    const tp = d?.typeParameters ? `<${d.typeParameters.map((t) => t.getText()).join(', ')}>` : '';
    sigs = [`class ${name}${tp}${heritage}`];
    const ctor = typeOf(sym).getConstructSignatures().filter((s) => {
      const cd = s.getDeclaration();
      return !cd || !(ts.getCombinedModifierFlags(cd) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) &&
        !ts.getJSDocTags(cd).some((t) => t.tagName.text === 'internal');
    });
    sigs.push(...ctor.map((s) => `new ${name}${sigText(s, decl)}`.replace(/: \w+(<[^>]*>)?$/, '')));
  } else if (kind === 'namespace') {
    const type = print(typeOf(sym), decl);  // an object's type, where short (its members follow)
    sigs = [sym.flags & ts.SymbolFlags.ValueModule ? `namespace ${name}` : `const ${name}${type.length <= 120 ? ': ' + type : ''}`];
  } else if (sym.flags & ts.SymbolFlags.Enum) sigs = [`enum ${name}`];
  else if (kind === 'constant') sigs = [`const ${name}: ${print(typeOf(sym), decl)}`];
  else {
    const d = sym.declarations?.find((x) => ts.isTypeAliasDeclaration(x) || ts.isInterfaceDeclaration(x));
    const tp = d?.typeParameters ? `<${d.typeParameters.map((t) => t.getText()).join(', ')}>` : '';
    if (d && ts.isTypeAliasDeclaration(d)) sigs = [`type ${name}${tp} = ${source(d.type)}`];
    else sigs = [`interface ${name}${tp}${(d?.heritageClauses ?? []).map((h) => ' ' + h.getText()).join('')}`];
  }
  let doc = docOf(sym);
  if (!doc.text && sym.flags & ts.SymbolFlags.ValueModule) doc = { text: headerComment(decl.getSourceFile()), tags: [] };
  const hasMembers = kind === 'class' || kind === 'namespace' || sym.flags & (ts.SymbolFlags.Interface | ts.SymbolFlags.Enum) ||
    sym.declarations?.some((d) => ts.isTypeAliasDeclaration(d) && ts.isTypeLiteralNode(d.type));
  const tparams = typeParams(sym.declarations?.find((x) => ts.isTypeAliasDeclaration(x) || ts.isInterfaceDeclaration(x)) ?? decl, calls);
  return { name, sym, kind, sigs, doc, tparams, members: hasMembers ? membersOf(sym, kind) : [] };
}

// ---- writing HTML -----------------------------------------------------------

const CSS = `body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:0 auto;padding:0 1rem 3rem;color:#222}
nav{padding:.6rem 0;border-bottom:1px solid #ddd;margin-bottom:1rem}nav a{margin-right:1rem}
a{color:#0b5cad;text-decoration:none}a:hover{text-decoration:underline}
pre.sig{background:#f5f5f7;padding:.5rem .7rem;border-radius:4px;white-space:pre-wrap;word-break:break-word;margin:.3rem 0}
section{border-top:1px solid #eee;padding:.4rem 0}main>section{border:0}section section{margin-left:1rem}
section :is(h2,h3,h4){margin:.5rem 0 .2rem;font:600 1.05rem ui-monospace,monospace}.kind{color:#888;font-weight:normal;font-size:.8em}
.note{color:#555}dl.tags dt{font-weight:600}ul.names{columns:3 14rem}code{font-family:ui-monospace,monospace}`;

const page = (title, body, prefix) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title><style>${CSS}</style></head>
<body><nav><a href="index.html">Kiln API</a><a href="${prefix}functions.html">Functions</a><a href="${prefix}types.html">Types</a><a href="${prefix}constants.html">Constants</a></nav>
<main>
${body}
</main></body></html>
`;

const hrefOf = (prefix, e) => (SHARED_PAGE[e.kind] ? `${prefix}${SHARED_PAGE[e.kind]}.html#${e.name}` : `${prefix}${e.kind}.${e.name}.html`);
const isTypeLike = (e) => e.kind === 'class' || e.kind === 'type' || e.sym?.flags & ts.SymbolFlags.Enum;
const linkable = new Map();  // documented class/type name -> href, linked from signatures
// Types the signatures name but no entry point exports (ops.ts's `T`,
// `Padding`, ...): listed at the end of types.html with their definitions.
const locals = new Map(), usedLocals = new Set();
for (const file of program.getSourceFiles())
  if (!relative(join(ROOT, 'js/src'), file.fileName).startsWith('..'))
    for (const st of file.statements)
      if (ts.isTypeAliasDeclaration(st) || ts.isInterfaceDeclaration(st)) {
        const defs = locals.get(st.name.text) ?? [], text = source(st);
        if (!defs.some((d) => d.text === text)) defs.push({ text, node: st, file: relative(ROOT, file.fileName) });
        locals.set(st.name.text, defs);
      }
const linkify = (escaped, tparams = new Set()) => escaped.replace(/\b[A-Z][A-Za-z0-9]*\b/g, (w) => {
  if (tparams.has(w)) return w;
  if (linkable.has(w)) return `<a href="${linkable.get(w)}">${w}</a>`;
  if (!locals.has(w)) return w;
  usedLocals.add(w);
  return `<a href="types.html#local.${w}">${w}</a>`;
});

function renderDoc(doc) {
  let html = doc.text ? `<p>${esc(doc.text).replace(/`([^`]+)`/g, '<code>$1</code>').replace(/\n\n+/g, '</p><p>')}</p>\n` : '';
  const tags = doc.tags.filter((t) => t.name !== 'internal');
  if (tags.length) html += `<dl class="tags">${tags.map((t) => `<dt>@${esc(t.name)}</dt><dd>${esc(t.text)}</dd>`).join('')}</dl>\n`;
  return html;
}

function renderEntry(e, level, idPrefix = '') {
  const id = idPrefix + e.name;
  let html = `<section id="${esc(id)}"><h${level}>${esc(e.name)} <span class="kind">${e.kind}</span></h${level}>\n`;
  html += e.sigs.map((s) => `<pre class="sig">${linkify(esc(s), e.tparams)}</pre>\n`).join('');
  if (e.note) html += `<p class="note"><code>${esc(e.note)}</code></p>\n`;
  html += renderDoc(e.doc);
  if (level === 1 && e.members?.length)  // a page's table of contents
    html += `<ul class="names">${e.members.map((m) => `<li><a href="#${esc(id + '.' + m.name)}">${esc(m.name)}</a></li>`).join('')}</ul>\n`;
  for (const m of e.members ?? []) html += renderEntry(m, Math.min(level + 1, 4), id + '.');
  return html + '</section>\n';
}

const byName = (a, b) => a.name.localeCompare(b.name, 'en', { sensitivity: 'base' }) || a.name.localeCompare(b.name);
const all = ENTRIES.map((ent) => {
  const file = program.getSourceFile(join(ROOT, ent.file));
  const entries = checker.getExportsOfModule(checker.getSymbolAtLocation(file)).map((s) => entry(s.getName(), resolve(s))).sort(byName);
  for (const e of entries) {
    if (isTypeLike(e) && !linkable.has(e.name)) linkable.set(e.name, hrefOf(ent.prefix, e));
    if (e.kind === 'namespace') for (const m of e.members)  // kiln.onnx.OnnxGraph, ...
      if (isTypeLike(m) && !linkable.has(m.name)) linkable.set(m.name, `${hrefOf(ent.prefix, e)}#${e.name}.${m.name}`);
  }
  return { ent, file, entries };
});

const pages = new Map();  // file name -> [title, body, prefix]
let index = '', count = 0;
for (const { ent, file, entries } of all) {
  index += `<h1 id="${esc(ent.module)}"><code>import ... from '${esc(ent.module)}'</code></h1>\n<p>${esc(headerComment(file))}</p>\n`;
  for (const kind of Object.keys(SHARED_PAGE))  // every nav link resolves, even to a page of none
    pages.set(`${ent.prefix}${SHARED_PAGE[kind]}.html`, [ent.module, `<h1>${esc(ent.module)}</h1>\n<p>None.</p>\n`, ent.prefix]);
  for (const [kind, title] of GROUPS) {
    const group = entries.filter((e) => e.kind === kind);
    if (!group.length) continue;
    index += `<h2>${title} (${group.length})</h2>\n<ul class="names">${group.map((e) => `<li><a href="${hrefOf(ent.prefix, e)}">${esc(e.name)}</a></li>`).join('')}</ul>\n`;
    if (SHARED_PAGE[kind])
      pages.set(`${ent.prefix}${SHARED_PAGE[kind]}.html`, [`${ent.module}: ${title}`,
        `<h1>${esc(ent.module)}: ${title}</h1>\n` + group.map((e) => renderEntry(e, 3)).join(''), ent.prefix]);
    else for (const e of group)
      pages.set(hrefOf(ent.prefix, e), [`${ent.module}: ${e.name}`, renderEntry(e, 1).replace(/^<section id="[^"]*">/, '<section>'), ent.prefix]);
  }
  count += entries.length;
}
// The glossary of unexported types, grown until it names no new one.
let glossary = '';
for (const done = new Set(); usedLocals.size > done.size;)
  for (const name of [...usedLocals].filter((n) => !done.has(n)).sort()) {
    done.add(name);
    glossary += `<section id="local.${name}"><h3>${name} <span class="kind">not exported</span></h3>\n` +
      locals.get(name).map((d) => `<pre class="sig">${linkify(esc(d.text), typeParams(d.node))}</pre><p class="note">${esc(d.file)}</p>\n`).join('') + '</section>\n';
  }
if (glossary) pages.get('types.html')[1] += `<h2>Types used in signatures, not exported</h2>\n${glossary}`;
pages.set('index.html', ['Kiln API reference', index + '<p class="note">Generated from js/src by scripts/api_docs.mjs.</p>', '']);

mkdirSync(outDir, { recursive: true });
for (const [file, [title, body, prefix]] of pages) writeFileSync(join(outDir, file), page(title, body, prefix));
console.log(`api_docs: ${count} exported names, ${pages.size} pages in ${outDir} (${Math.round(performance.now())} ms)`);
