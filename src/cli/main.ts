// tsrunc's entry point: runc's command line (global flags before or after
// the subcommand, `--opt=v` and `--opt v`), runc's error contract (one line
// on stderr, one record in --log, exit 1) and nothing loaded that the
// invoked command does not need: every CLI call pays node's startup, so
// command modules are imported inside their actions, and commander itself
// (~10 ms to load) only when the argv is not one of the hot shapes that
// fastPath() fully understands (`--version`, `state <id>`: clients poll state).
import type { Command, Option } from 'commander';
import { TsruncError } from '../errors.js';
import { GLOBAL_FLAGS, longName, normalizeBooleans, parseSimple, prescan, type GlobalFlag } from './argv.js';
import { versionText } from './commands/version.js';
import { defaultGlobals, type GlobalOptions, type LogFormat } from './context.js';
import { configureLog, fatal, log } from './log.js';
import { err, out } from './output.js';

/** Commands defined in this file; any other name may belong to another command group. */
const OWN_COMMANDS = new Set(['spec', 'state', 'list', 'features']);

type Commander = typeof import('commander');

/** `state <id>` without commander (clients poll it); same behaviour as the general path. */
async function fastPath(argv: string[]): Promise<boolean> {
  const parsed = parseSimple(argv, 'state');
  if (!parsed) return false;
  const { globals, id } = parsed;
  configureLog({ file: globals.log, format: globals.logFormat, debug: globals.debug });
  log.debug(`tsrunc ${argv.join(' ')}`);
  (await import('./commands/state.js')).stateCommand(globals, id);
  return true;
}

function globalOption(C: Commander, f: GlobalFlag, hidden: boolean): Option {
  const o = new C.Option(f.flags, f.description);
  if (f.choices) o.choices(f.choices);
  if (hidden) o.hideHelp();
  return o;
}

/** Settings every command needs; commander copies them only to commands made with .command(). */
function configure(cmd: Command): void {
  cmd.exitOverride();
  cmd.configureOutput({
    writeOut: out,
    writeErr: err,
    // The error is printed once, by fatal(), in our format.
    outputError: () => {},
    // The defaults read process.stdout/stderr, which must never be created.
    getOutHelpWidth: () => 80,
    getErrHelpWidth: () => 80,
    getOutHasColors: () => false,
    getErrHasColors: () => false,
  });
  cmd.showSuggestionAfterError(true);
}

function buildProgram(C: Commander, globals: GlobalOptions): { program: Command; hiddenGlobals: Map<Option, GlobalFlag> } {
  const program = new C.Command('tsrunc');
  configure(program);
  program
    .description('Open Container Initiative runtime (runtime-spec 1.3), runc-compatible')
    .usage('[global options] command [command options] [arguments...]')
    .enablePositionalOptions()
    .helpOption('-h, --help', 'show help');
  for (const f of GLOBAL_FLAGS) program.addOption(globalOption(C, f, false));
  program.option('-v, --version', 'print the version');
  program.on('option:version', () => {
    out(versionText());
    process.exit(0);
  });

  program
    .command('spec')
    .description('create a new specification file')
    .option('-b, --bundle <path>', 'path to the root of the bundle directory')
    .option('--rootless', 'generate a configuration for a rootless container')
    .action(async (opts: { bundle?: string; rootless?: boolean }) => {
      (await import('./commands/spec.js')).specCommand(opts);
    });

  program
    .command('state')
    .description('output the state of a container')
    .argument('<container-id>', 'the container id')
    .action(async (id: string) => {
      (await import('./commands/state.js')).stateCommand(globals, id);
    });

  program
    .command('list')
    .description('lists containers started by tsrunc with the given root')
    .addOption(new C.Option('-f, --format <format>', 'select one of: table or json').choices(['table', 'json']).default('table'))
    .option('-q, --quiet', 'display only container IDs')
    .action(async (opts: { format?: string; quiet?: boolean }) => {
      (await import('./commands/list.js')).listCommand(globals, opts);
    });

  program
    .command('features')
    .description('show the enabled features')
    .action(async () => {
      (await import('./commands/features.js')).featuresCommand();
    });

  return { program, hiddenGlobals: new Map() };
}

/** Gives every subcommand hidden copies of the global flags, so they may follow the subcommand too. */
function addTrailingGlobals(C: Commander, program: Command, hiddenGlobals: Map<Option, GlobalFlag>): void {
  for (const sub of program.commands) {
    configure(sub);
    for (const f of GLOBAL_FLAGS) {
      const long = longName(f.flags);
      // A command's own flag of the same name wins (`spec --rootless`).
      if (sub.options.some((o) => o.long === long)) continue;
      const o = globalOption(C, f, true);
      sub.addOption(o);
      hiddenGlobals.set(o, f);
    }
  }
}

function mergeGlobals(globals: GlobalOptions, program: Command, action: Command, hiddenGlobals: Map<Option, GlobalFlag>): void {
  const set = (key: keyof GlobalOptions, value: unknown): void => {
    if (value !== undefined) (globals as unknown as Record<string, unknown>)[key] = value;
  };
  const p = program.opts();
  for (const f of GLOBAL_FLAGS) {
    const o = program.options.find((x) => x.long === longName(f.flags))!;
    set(f.key, p[o.attributeName()]);
  }
  if (action !== program) {
    for (const o of action.options) {
      const f = hiddenGlobals.get(o);
      if (f) set(f.key, action.getOptionValue(o.attributeName()));
    }
  }
  if (globals.root === '') throw new TsruncError('--root must not be empty');
}

async function main(argv: string[]): Promise<void> {
  const pre = prescan(argv);
  configureLog({ file: pre.log, format: pre.logFormat === 'json' ? 'json' : 'text', debug: pre.debug });
  if (pre.version) {
    out(versionText());
    return;
  }
  if (await fastPath(argv)) return;
  const C = await import('commander');
  const globals = defaultGlobals();
  const { program, hiddenGlobals } = buildProgram(C, globals);
  // Other command groups live in their own modules; load them only when the
  // command may be theirs (or for the command list in help).
  if (argv.length === 0 || pre.command === undefined || !OWN_COMMANDS.has(pre.command)) {
    const [{ registerLifecycle }, { registerCgroupCommands }] = await Promise.all([
      import('./commands/lifecycle.js'),
      import('./commands/cgroups.js'),
    ]);
    registerLifecycle(program, () => globals);
    registerCgroupCommands(program, () => globals);
  }
  addTrailingGlobals(C, program, hiddenGlobals);
  program.hook('preAction', (_root, action) => {
    mergeGlobals(globals, program, action, hiddenGlobals);
    configureLog({ file: globals.log, format: globals.logFormat as LogFormat, debug: globals.debug });
    log.debug(`tsrunc ${argv.join(' ')}`);
  });
  if (argv.length === 0) {
    program.outputHelp();
    return;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof C.CommanderError) {
      if (e.exitCode === 0) return;
      fatal(new TsruncError(e.message.replace(/^error: /, ''), { exitCode: 1 }));
    }
    throw e;
  }
}

main(normalizeBooleans(process.argv.slice(2))).catch(fatal);
