// tsrunc's entry point: runc's command line (global flags before or after
// the subcommand, `--opt=v` and `--opt v`), runc's error contract (one line
// on stderr, one record in --log, exit 1) and nothing loaded that the
// invoked command does not need: every CLI call pays node's startup, so the
// command table is read by a small strict parser (parse.ts), command modules
// are imported inside their actions, and commander (a separate bundle,
// dist/cli-usage.cjs) is loaded only for help and usage errors.
import { TsruncError } from '../errors.js';
import { normalizeBooleans, prescan } from './argv.js';
import { versionText } from './commands/version.js';
import { defaultGlobals, type GlobalOptions } from './context.js';
import { configureLog, fatal, log } from './log.js';
import { err, out } from './output.js';
import { parseArgv } from './parse.js';
import { COMMANDS, GLOBAL_FLAGS, PROGRAM } from './spec-table.js';

function beforeAction(argv: string[], globals: GlobalOptions): void {
  if (globals.root === '') throw new TsruncError('--root must not be empty');
  configureLog({ file: globals.log, format: globals.logFormat, debug: globals.debug });
  log.debug(`tsrunc ${argv.join(' ')}`);
}

async function main(argv: string[]): Promise<void> {
  const pre = prescan(argv);
  configureLog({ file: pre.log, format: pre.logFormat === 'json' ? 'json' : 'text', debug: pre.debug });
  if (pre.version) {
    out(versionText());
    return;
  }
  const inv = parseArgv(argv);
  if (inv) {
    beforeAction(argv, inv.globals);
    await inv.command.action(inv.globals, inv.args, inv.opts);
    return;
  }
  // Help, usage errors, forms only commander knows. Bundled, ./usage.js is
  // the sibling file cli-usage.cjs (scripts/build.mjs).
  const { runCommander } = await import('./usage.js');
  const res = await runCommander(normalizeBooleans(argv), {
    program: PROGRAM,
    globalFlags: GLOBAL_FLAGS,
    commands: COMMANDS,
    globals: defaultGlobals(),
    out,
    err,
    versionText,
    beforeAction: (g) => beforeAction(argv, g),
  });
  if (res.message !== undefined) throw new TsruncError(res.message, { exitCode: res.exitCode });
}

main(process.argv.slice(2)).catch(fatal);
