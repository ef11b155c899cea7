import * as path from 'node:path';

// The bundles live in dist/ next to koffi.node, tsrunc-nsexec and init.cjs
// (or in PREFIX/lib/tsrunc after `make install`). Tests that import sources
// directly set TSRUNC_LIBDIR.
export function libDir(): string {
  if (process.env.TSRUNC_LIBDIR) return process.env.TSRUNC_LIBDIR;
  if (typeof __dirname !== 'undefined' && path.basename(__dirname) !== 'src') return __dirname;
  return path.resolve(process.cwd(), 'dist');
}

export const nodeBinary = (): string => process.execPath;
export const nsexecPath = (): string => path.join(libDir(), 'tsrunc-nsexec');
export const initScript = (): string => path.join(libDir(), 'init.cjs');
export const koffiAddon = (): string => path.join(libDir(), 'koffi.node');
