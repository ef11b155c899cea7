// The bench runs the test helpers (TypeScript) under plain Node, which strips
// types but does not map the sources' NodeNext `./x.js` imports to `./x.ts`
// (tap does that for the tests). A resolve hook does, for files of this repo.
import { registerHooks } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const repo = new URL('..', import.meta.url).href;
registerHooks({
  resolve(specifier, context, next) {
    if (specifier.endsWith('.js') && (specifier.startsWith('.') || specifier.startsWith('/')) && context.parentURL?.startsWith(repo)) {
      const ts = new URL(specifier.replace(/\.js$/, '.ts'), context.parentURL);
      if (ts.href.startsWith(repo) && existsSync(fileURLToPath(ts))) return next(ts.href, context);
    }
    return next(specifier, context);
  },
});
