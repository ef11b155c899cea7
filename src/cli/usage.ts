// commander, built from the command table, for what the fast parser leaves
// to it: help and the wording of usage errors (and any rarer form it accepts,
// like `-b/path`). Built as its own bundle (dist/cli-usage.cjs) so the hot
// path never parses commander; for that reason this module imports nothing
// from src but types and commander-table.ts, and gets the rest from the caller.
import { Command } from 'commander';
import { addCommand, flagOption } from './commander-table.js';
import type { GlobalOptions } from './context.js';
import type { CommandSpec, GlobalFlagSpec } from './spec-table.js';

export interface UsageHost {
  program: { name: string; description: string; usage: string };
  globalFlags: readonly GlobalFlagSpec[];
  commands: readonly CommandSpec[];
  globals: GlobalOptions;
  out(s: string): void;
  err(s: string): void;
  versionText(): string;
  /** Called with the merged globals before the action runs (logging setup, checks). */
  beforeAction(globals: GlobalOptions): void;
}

/** What commander decided, when it is not running an action: an exit code and, for errors, a message. */
export interface UsageResult {
  exitCode: number;
  message?: string;
}

function configure(cmd: Command, host: UsageHost): void {
  cmd.exitOverride();
  cmd.configureOutput({
    writeOut: host.out,
    writeErr: host.err,
    // The error is printed once, by the caller, in tsrunc's format.
    outputError: () => {},
    // The defaults read process.stdout/stderr, which must never be created.
    getOutHelpWidth: () => 80,
    getErrHelpWidth: () => 80,
    getOutHasColors: () => false,
    getErrHasColors: () => false,
  });
  cmd.showSuggestionAfterError(true);
}

export async function runCommander(argv: string[], host: UsageHost): Promise<UsageResult> {
  const globals = host.globals;
  const program = new Command(host.program.name);
  configure(program, host);
  program.description(host.program.description).usage(host.program.usage).enablePositionalOptions().helpOption('-h, --help', 'show help');
  for (const f of host.globalFlags) program.addOption(flagOption(program, f));
  program.option('-v, --version', 'print the version');
  program.on('option:version', () => {
    host.out(host.versionText());
    process.exit(0);
  });
  // Globals given before the command name; the hidden copies after it override them.
  const before = (): GlobalOptions => {
    for (const f of host.globalFlags) {
      const v: unknown = program.getOptionValue(program.options.find((o) => o.long === f.long)!.attributeName());
      if (v !== undefined) (globals as unknown as Record<string, unknown>)[f.key] = v;
    }
    return globals;
  };
  for (const spec of host.commands) {
    addCommand(program, spec, before, { globalFlags: host.globalFlags, configure: (sub) => configure(sub, host), before: host.beforeAction });
  }

  if (argv.length === 0) {
    program.outputHelp();
    return { exitCode: 0 };
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return { exitCode: 0 };
  } catch (e) {
    // CommanderError, told apart by its code: the caller's error classes are another bundle's.
    const ce = e as { code?: unknown; exitCode?: number; message?: string };
    if (typeof ce.code === 'string' && ce.code.startsWith('commander.')) {
      return ce.exitCode === 0 ? { exitCode: 0 } : { exitCode: 1, message: (ce.message ?? '').replace(/^error: /, '') };
    }
    throw e;
  }
}
