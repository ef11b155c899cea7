// create, start, run, kill, delete: runc's flags and wordings. Each action
// imports its module lazily, so e.g. `kill` never loads the create path.
import type { Command } from 'commander';
import { TsruncError } from '../../errors.js';
import type { GlobalOptions } from '../context.js';

interface CreateFlags {
  bundle?: string;
  pidFile?: string;
  consoleSocket?: string;
  preserveFds?: string;
  pivot?: boolean;
  noPivot?: boolean;
  noNewKeyring?: boolean;
}

function preserveFds(v: string | undefined): number {
  if (v === undefined) return 0;
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n)) throw new TsruncError(`invalid value for --preserve-fds: ${v}`);
  return n;
}

function createOptions(id: string, f: CreateFlags) {
  return {
    id,
    bundle: f.bundle || process.cwd(),
    ...(f.pidFile ? { pidFile: f.pidFile } : {}),
    ...(f.consoleSocket ? { consoleSocket: f.consoleSocket } : {}),
    preserveFds: preserveFds(f.preserveFds),
    noPivot: !!f.noPivot || f.pivot === false,
  };
}

function createFlags(cmd: Command): Command {
  return cmd
    .option('-b, --bundle <path>', 'path to the root of the bundle directory, defaults to the current directory')
    .option('--console-socket <path>', 'path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console\'s pseudoterminal')
    .option('--pid-file <path>', 'specify the file to write the process id to')
    .option('--preserve-fds <n>', 'pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total)')
    .option('--no-pivot', 'do not use pivot root to jail process inside rootfs')
    .option('--no-new-keyring', 'do not create a new session keyring for the container');
}

export function registerLifecycle(program: Command, globals: () => GlobalOptions): void {
  createFlags(program.command('create').description('create a container').argument('<container-id>', 'the container id')).action(
    async (id: string, f: CreateFlags) => {
      const { createContainer } = await import('../../container/create.js');
      const c = createContainer(globals(), createOptions(id, f), 'create');
      c.channel.close();
      c.handle.release();
      // Nothing of ours must keep the event loop (or init) waiting.
      process.exit(0);
    },
  );

  program
    .command('start')
    .description('executes the user defined process in a created container')
    .argument('<container-id>', 'the container id')
    .action(async (id: string) => {
      (await import('../../container/start.js')).startContainer(globals(), id);
    });

  createFlags(
    program
      .command('run')
      .description('create and run a container')
      .argument('<container-id>', 'the container id')
      .option('-d, --detach', 'detach from the container\'s process')
      .option('--keep', 'do not delete the container after it exits'),
  ).action(async (id: string, f: CreateFlags & { detach?: boolean; keep?: boolean }) => {
    const { runContainer } = await import('../../container/run.js');
    const code = await runContainer(globals(), { ...createOptions(id, f), detach: !!f.detach, keep: !!f.keep });
    process.exit(code);
  });

  program
    .command('kill')
    .description('kill sends the specified signal (default: SIGTERM) to the container\'s init process')
    .argument('<container-id>', 'the container id')
    .argument('[signal]', 'the signal to send (name or number)')
    .option('-a, --all', 'send the specified signal to all processes inside the container')
    .action(async (id: string, signal: string | undefined, f: { all?: boolean }) => {
      (await import('../../container/kill.js')).killContainer(globals(), id, signal, !!f.all);
    });

  program
    .command('delete')
    .description('delete any resources held by the container often used with detached container')
    .argument('<container-id>', 'the container id')
    .option('-f, --force', 'forcibly deletes the container if it is still running (uses SIGKILL)')
    .action(async (id: string, f: { force?: boolean }) => {
      (await import('../../container/delete.js')).deleteContainer(globals(), id, !!f.force);
    });
}
