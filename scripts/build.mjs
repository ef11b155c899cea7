// Bundles the CLI and the in-container init into single CommonJS files:
// one file loads in a fraction of the time of hundreds of modules, and every
// CLI call pays that load (see docs/architecture.md). What only some calls
// need stays out of the hot bundle, in sibling files loaded on demand:
//   dist/cli-usage.cjs   commander (help, usage errors), src/cli/usage.ts
//   dist/validators.cjs  the precompiled schema validators (create, run)
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { build } from 'esbuild';

const common = {
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'cjs',
  sourcemap: 'linked',
  logLevel: 'warning',
  // koffi is loaded straight from its .node file (dist/koffi.node): its
  // index.js pulls in https, zlib and crypto and costs ~15 ms per start.
  external: ['*.node'],
  legalComments: 'none',
  // validate.ts reads import.meta.url only when run from source.
  logOverride: { 'empty-import-meta': 'silent' },
};

/** Imports that become run-time requires of a sibling file in dist/. */
const siblings = {
  name: 'siblings',
  setup(b) {
    b.onResolve({ filter: /^\.\/usage\.js$/ }, (a) => (a.importer.endsWith('src/cli/main.ts') ? { path: './cli-usage.cjs', external: true } : undefined));
  },
};

// The copy below races esbuild's own creation of dist/ on a fresh clone.
await mkdir('dist', { recursive: true });
await Promise.all([
  // No dynamic import() left in the output: the sibling is then a plain
  // require, not a trip through the ESM loader (~3 ms).
  build({ ...common, entryPoints: ['src/cli/main.ts'], outfile: 'dist/tsrunc.cjs', plugins: [siblings], supported: { 'dynamic-import': false } }),
  build({ ...common, entryPoints: ['src/cli/usage.ts'], outfile: 'dist/cli-usage.cjs' }),
  build({ ...common, entryPoints: ['src/init/main.ts'], outfile: 'dist/init.cjs' }),
  copyFile('src/generated/validators.cjs', 'dist/validators.cjs'),
]);

// esbuild turns each `import * as fs from 'node:fs'` into its own
// `__toESM(require("node:fs"), 1)`: a fresh namespace object with a getter
// per export (~0.14 ms for node:fs' 104), once per importing module (26 for
// fs in each bundle, ~3.5 ms per call of the CLI). Instead one namespace per
// builtin, shared as in ESM, that reaches the exports through its prototype
// (live, as the getters were) and has `default` (the module) of its own.
// Same line, so the source maps' line mapping holds.
async function shareBuiltinNamespaces(file) {
  const text = await readFile(file, 'utf8');
  const call = /__toESM\(require\("(node:[\w/]+)"\), 1\)/g;
  if (!call.test(text)) return;
  const helper = 'var __nodeNs = {}, __toESMNode = (id) => __nodeNs[id] ??= ((m) => __create(m, { default: { value: m, enumerable: true } }))(require(id));';
  const out = text.replace(call, (_, id) => `__toESMNode(${JSON.stringify(id)})`);
  const at = out.indexOf('\n// ', out.indexOf('var __toESM = '));
  if (at < 0) throw new Error(`${file}: esbuild's __toESM helper not found`);
  // Appended to the line before the first module comment: no line moves.
  await writeFile(file, `${out.slice(0, at)} ${helper}${out.slice(at)}`);
}
await Promise.all(['dist/tsrunc.cjs', 'dist/init.cjs', 'dist/cli-usage.cjs'].map(shareBuiltinNamespaces));
