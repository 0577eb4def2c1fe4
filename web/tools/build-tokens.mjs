#!/usr/bin/env node
// Generates web/static/tokens.css from the Digital Agency design tokens
// (@digital-go-jp/design-tokens, a devDependency in web/package.json).
//
//   cd web && npm ci && npm run build:tokens     # rewrite static/tokens.css
//   cd web && npm ci && npm run check:tokens     # exit 1 if static/tokens.css is stale
//
// The token tree is read from the package's dist/tokens.js (structured data with
// types and references).  Every token becomes one CSS custom property named like
// the package's own dist/tokens.css (Color.Primitive.LightBlue.50 ->
// --color-primitive-light-blue-50); a token defined as a reference to another
// token ({Color.Primitive.Green.600}) becomes var(--color-primitive-green-600).
// The result is cross-checked against the package's dist/tokens.css so that a
// package upgrade that changes naming is caught here rather than in the browser.
//
// The output is deterministic (no timestamps) so that it can be committed and
// served by the Rust server without npm.

import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const PKG = '@digital-go-jp/design-tokens';
const here = dirname(fileURLToPath(import.meta.url));
const webDir = join(here, '..');
const outFile = join(webDir, 'static', 'tokens.css');
const checkOnly = process.argv.includes('--check');

const require = createRequire(join(webDir, 'package.json'));

let pkgJsonPath;
try {
  pkgJsonPath = require.resolve(`${PKG}/package.json`);
} catch {
  fail(`${PKG} is not installed. Run "npm ci" in ${webDir} first.`);
}
const pkgDir = dirname(pkgJsonPath);
const pkg = JSON.parse(readFileSync(pkgJsonPath, 'utf8'));
const licenseText = readFileSync(join(pkgDir, 'LICENSE'), 'utf8').trim();
const tokens = require(join(pkgDir, pkg.main || 'dist/tokens.js'));
const packageCss = readFileSync(join(pkgDir, pkg.style || 'dist/tokens.css'), 'utf8');

// The version we generate from must be the one pinned in web/package.json.
const wanted = JSON.parse(readFileSync(join(webDir, 'package.json'), 'utf8')).devDependencies?.[PKG];
if (wanted !== pkg.version) {
  fail(`web/package.json pins ${PKG}@${wanted} but node_modules has ${pkg.version}; run "npm ci".`);
}

// ---------------------------------------------------------------------------
// Walk the token tree.

/** "LightBlue" -> "light-blue", "SolidGray" -> "solid-gray", "600" -> "600" */
const kebab = (s) =>
  String(s)
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/([A-Z])([A-Z][a-z])/g, '$1-$2')
    .replace(/[\s_]+/g, '-')
    .toLowerCase();
const varName = (path) => `--${path.map(kebab).join('-')}`;

/** @type {{name: string, value: string, type: string, group: string}[]} */
const decls = [];
(function walk(node, path) {
  if (node && typeof node === 'object' && '$value' in node) {
    const original = node.original?.$value;
    let value;
    const ref = typeof original === 'string' && /^\{([^{}]+)\}$/.exec(original);
    if (ref) {
      value = `var(${varName(ref[1].split('.'))})`;
    } else {
      value = String(node.$value);
    }
    const group = path[0] === 'Color' ? `${path[0]} / ${path[1]}` : path[0];
    decls.push({ name: varName(path), value, type: node.$type || '', group });
    return;
  }
  if (node && typeof node === 'object') {
    for (const key of Object.keys(node)) walk(node[key], [...path, key]);
  }
})(tokens, []);

if (decls.length === 0) fail(`no tokens found in ${PKG}`);

// ---------------------------------------------------------------------------
// Cross-check against the package's own CSS build.

const norm = (v) => v.replace(/\s+/g, ' ').replace(/\s*,\s*/g, ',').trim();
const fromPackageCss = new Map();
for (const m of packageCss.matchAll(/(--[\w-]+)\s*:\s*([^;]+);/g)) fromPackageCss.set(m[1], m[2]);
const ours = new Map(decls.map((d) => [d.name, d.value]));
const problems = [];
for (const [name, value] of fromPackageCss) {
  if (!ours.has(name)) problems.push(`missing ${name} (package CSS has ${value})`);
  else if (norm(ours.get(name)) !== norm(value))
    problems.push(`${name}: generated "${ours.get(name)}" but package CSS has "${value}"`);
}
for (const name of ours.keys()) {
  if (!fromPackageCss.has(name)) problems.push(`${name} is not in the package CSS`);
}
if (problems.length) {
  fail(`generated tokens disagree with ${PKG}/${pkg.style}:\n  ${problems.join('\n  ')}`);
}

// ---------------------------------------------------------------------------
// Emit.

const commentSafe = (s) => s.replace(/\*\//g, '* /');
const lines = [];
lines.push('/*!');
lines.push(` * Madoguchi design tokens — GENERATED FILE, DO NOT EDIT.`);
lines.push(` * Regenerate: cd web && npm ci && npm run build:tokens`);
lines.push(` *   (script: web/${relative(webDir, fileURLToPath(import.meta.url)).split('\\').join('/')})`);
lines.push(' *');
lines.push(` * Source package: ${pkg.name}@${pkg.version}`);
lines.push(` *   ${pkg.homepage || ''}`);
lines.push(` * Licence: ${pkg.license}. The package's licence text follows.`);
lines.push(' *');
for (const l of commentSafe(licenseText).split('\n')) lines.push(l ? ` *   ${l}` : ' *');
lines.push(' *');
lines.push(` * ${decls.length} custom properties: colours (primitive, neutral, semantic),`);
lines.push(' * font weights/families/sizes, line heights, border radii and elevations.');
lines.push(' * The package defines no spacing and no focus-ring tokens; Madoguchi\'s');
lines.push(' * spacing scale and focus colours are aliases in static/app.css built');
lines.push(' * from these tokens.');
lines.push(' */');
lines.push('');
lines.push(':root {');
let lastGroup = null;
for (const d of decls) {
  if (d.group !== lastGroup) {
    if (lastGroup !== null) lines.push('');
    lines.push(`  /* ${d.group} */`);
    lastGroup = d.group;
  }
  lines.push(`  ${d.name}: ${d.value};`);
}
lines.push('}');
lines.push('');
const css = lines.join('\n');

if (checkOnly) {
  let current = '';
  try {
    current = readFileSync(outFile, 'utf8');
  } catch {
    /* missing counts as stale */
  }
  if (current !== css) fail(`${relative(process.cwd(), outFile)} is stale; run "npm run build:tokens" in web/`);
  console.log(`${relative(process.cwd(), outFile)} is up to date (${pkg.name}@${pkg.version}, ${decls.length} tokens)`);
} else {
  writeFileSync(outFile, css);
  console.log(`wrote ${relative(process.cwd(), outFile)} from ${pkg.name}@${pkg.version} (${decls.length} tokens)`);
}

function fail(msg) {
  console.error(`build-tokens: ${msg}`);
  process.exit(1);
}
