// Bundles the CLI and the in-container init into single CommonJS files:
// one file loads in a fraction of the time of hundreds of modules, and every
// CLI call pays that load (see docs/architecture.md).
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
};

await Promise.all([
  build({ ...common, entryPoints: ['src/cli/main.ts'], outfile: 'dist/tsrunc.cjs' }),
  build({ ...common, entryPoints: ['src/init/main.ts'], outfile: 'dist/init.cjs' }),
]);
