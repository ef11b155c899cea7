// Every command and flag of the CLI, once. The fast parser (parse.ts) reads
// this table on every call; commander is built from it (usage.ts, a separate
// bundle) only for help and to word usage errors. A new flag goes here and
// nowhere else; its value reaches the action under commander's attribute
// name (`--pid-file` -> pidFile, `--no-pivot` -> pivot: false).
import type { GlobalOptions } from './context.js';

export interface FlagSpec {
  long: string;
  short?: string;
  /** Placeholder of the value (`<path>`); absent for a boolean switch. */
  value?: string;
  choices?: readonly string[];
  default?: string;
  /** A value flag given several times collects all values (else the last wins). */
  repeatable?: boolean;
  description: string;
}

export interface GlobalFlagSpec extends FlagSpec {
  key: keyof GlobalOptions;
}

export interface ArgSpec {
  name: string;
  required: boolean;
  variadic?: boolean;
  description: string;
}

/** Positional values in ArgSpec order (a variadic one as an array), options by attribute name. */
export type Action = (globals: GlobalOptions, args: (string | string[] | undefined)[], opts: Record<string, unknown>) => unknown;

export interface CommandSpec {
  name: string;
  description: string;
  flags: readonly FlagSpec[];
  args: readonly ArgSpec[];
  /** Everything after the first positional is an argument (ps's `ps-args`). */
  passThrough?: boolean;
  action: Action;
}

export const GLOBAL_FLAGS: readonly GlobalFlagSpec[] = [
  { long: '--root', value: '<path>', key: 'root', description: 'root directory for storage of container state (this should be located in tmpfs)' },
  { long: '--log', value: '<path>', key: 'log', description: 'set the log file to write tsrunc logs to (default is stderr)' },
  { long: '--log-format', value: '<format>', key: 'logFormat', choices: ['text', 'json'], description: 'set the log format' },
  { long: '--debug', key: 'debug', description: 'enable debug logging' },
  { long: '--systemd-cgroup', key: 'systemdCgroup', description: 'enable systemd cgroup support' },
  { long: '--rootless', value: '<value>', key: 'rootless', choices: ['auto', 'true', 'false'], description: "ignore cgroup permission errors ('true', 'false', or 'auto')" },
  { long: '--criu', value: '<path>', key: 'criu', description: 'path to the criu binary (accepted for runc compatibility; checkpointing is not supported)' },
];

export const PROGRAM = {
  name: 'tsrunc',
  description: 'Open Container Initiative runtime (runtime-spec 1.3), runc-compatible',
  usage: '[global options] command [command options] [arguments...]',
};

const id: ArgSpec = { name: 'container-id', required: true, description: 'the container id' };
const str = (v: unknown): string => v as string;

const createFlags: FlagSpec[] = [
  { long: '--bundle', short: '-b', value: '<path>', description: 'path to the root of the bundle directory, defaults to the current directory' },
  { long: '--console-socket', value: '<path>', description: "path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal" },
  { long: '--pid-file', value: '<path>', description: 'specify the file to write the process id to' },
  { long: '--preserve-fds', value: '<n>', description: 'pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total)' },
  { long: '--no-pivot', description: 'do not use pivot root to jail process inside rootfs' },
  { long: '--no-new-keyring', description: 'do not create a new session keyring for the container' },
];

// Command modules are imported inside the actions: a call loads only its own.
const lifecycle = () => import('./commands/lifecycle.js');
const cgroups = () => import('./commands/cgroups.js');

export const COMMANDS: readonly CommandSpec[] = [
  {
    name: 'spec',
    description: 'create a new specification file',
    flags: [
      { long: '--bundle', short: '-b', value: '<path>', description: 'path to the root of the bundle directory' },
      { long: '--rootless', description: 'generate a configuration for a rootless container' },
    ],
    args: [],
    action: async (_g, _a, o) => (await import('./commands/spec.js')).specCommand(o),
  },
  {
    name: 'state',
    description: 'output the state of a container',
    flags: [],
    args: [id],
    action: async (g, a) => (await import('./commands/state.js')).stateCommand(g, str(a[0])),
  },
  {
    name: 'list',
    description: 'lists containers started by tsrunc with the given root',
    flags: [
      { long: '--format', short: '-f', value: '<format>', choices: ['table', 'json'], default: 'table', description: 'select one of: table or json' },
      { long: '--quiet', short: '-q', description: 'display only container IDs' },
    ],
    args: [],
    action: async (g, _a, o) => (await import('./commands/list.js')).listCommand(g, o),
  },
  {
    name: 'features',
    description: 'show the enabled features',
    flags: [],
    args: [],
    action: async () => (await import('./commands/features.js')).featuresCommand(),
  },
  {
    name: 'create',
    description: 'create a container',
    flags: createFlags,
    args: [id],
    action: async (g, a, o) => (await lifecycle()).createAction(g, str(a[0]), o),
  },
  {
    name: 'start',
    description: 'executes the user defined process in a created container',
    flags: [],
    args: [id],
    action: async (g, a) => (await lifecycle()).startAction(g, str(a[0])),
  },
  {
    name: 'run',
    description: 'create and run a container',
    flags: [
      { long: '--detach', short: '-d', description: "detach from the container's process" },
      { long: '--keep', description: 'do not delete the container after it exits' },
      ...createFlags,
    ],
    args: [id],
    action: async (g, a, o) => (await lifecycle()).runAction(g, str(a[0]), o),
  },
  {
    name: 'exec',
    description: 'execute new process inside the container',
    flags: [
      { long: '--console-socket', value: '<path>', description: "path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal" },
      { long: '--pidfd-socket', value: '<path>', description: 'path to an AF_UNIX socket which will receive a file descriptor referencing the exec process' },
      { long: '--cwd', value: '<path>', description: 'current working directory in the container' },
      { long: '--env', short: '-e', value: '<var>', repeatable: true, description: 'set environment variables' },
      { long: '--tty', short: '-t', description: 'allocate a pseudo-TTY' },
      { long: '--user', short: '-u', value: '<uid[:gid]>', description: 'UID (format: <uid>[:<gid>])' },
      { long: '--additional-gids', short: '-g', value: '<gid>', repeatable: true, description: 'additional gids' },
      { long: '--process', short: '-p', value: '<path>', description: 'path to the process.json' },
      { long: '--detach', short: '-d', description: 'detach from the container\'s process' },
      { long: '--pid-file', value: '<path>', description: 'specify the file to write the process id to' },
      { long: '--process-label', value: '<label>', description: 'set the asm process label for the process commonly used with selinux' },
      { long: '--apparmor', value: '<profile>', description: 'set the apparmor profile for the process' },
      { long: '--no-new-privs', description: 'set the no new privileges value for the process' },
      { long: '--cap', short: '-c', value: '<cap>', repeatable: true, description: 'add a capability to the bounding set for the process' },
      { long: '--preserve-fds', value: '<n>', description: 'pass N additional file descriptors to the container (stdio + N in total)' },
      { long: '--cgroup', value: '<[ctrl:]path>', repeatable: true, description: 'run the process in an (existing) sub-cgroup(s). Format is [<controller>:]<cgroup>.' },
      { long: '--ignore-paused', description: 'allow exec in a paused container' },
    ],
    args: [id, { name: 'command', required: false, variadic: true, description: 'the command to run and its arguments' }],
    // runc (urfave/cli) stops at the first argument: `exec ID sh -c ...` passes -c to sh.
    passThrough: true,
    action: async (g, a, o) => (await lifecycle()).execAction(g, str(a[0]), (a[1] as string[] | undefined) ?? [], o),
  },
  {
    name: 'kill',
    description: "kill sends the specified signal (default: SIGTERM) to the container's init process",
    flags: [{ long: '--all', short: '-a', description: 'send the specified signal to all processes inside the container' }],
    args: [id, { name: 'signal', required: false, description: 'the signal to send (name or number)' }],
    action: async (g, a, o) => (await lifecycle()).killAction(g, str(a[0]), a[1] as string | undefined, o),
  },
  {
    name: 'delete',
    description: 'delete any resources held by the container often used with detached container',
    flags: [{ long: '--force', short: '-f', description: 'forcibly deletes the container if it is still running (uses SIGKILL)' }],
    args: [id],
    action: async (g, a, o) => (await lifecycle()).deleteAction(g, str(a[0]), o),
  },
  {
    name: 'pause',
    description: 'pause suspends all processes inside the container',
    flags: [],
    args: [id],
    action: async (g, a) => (await cgroups()).pauseAction(g, str(a[0])),
  },
  {
    name: 'resume',
    description: 'resumes all processes that have been previously paused',
    flags: [],
    args: [id],
    action: async (g, a) => (await cgroups()).resumeAction(g, str(a[0])),
  },
  {
    name: 'ps',
    description: 'ps displays the processes running inside a container',
    flags: [{ long: '--format', short: '-f', value: '<format>', default: 'table', description: 'select one of: table or json' }],
    args: [id, { name: 'ps-args', required: false, variadic: true, description: 'arguments for ps (default -ef)' }],
    passThrough: true,
    action: async (g, a, o) => (await cgroups()).psAction(g, str(a[0]), (a[1] as string[] | undefined) ?? [], o),
  },
  {
    name: 'update',
    description: 'update container resource constraints',
    flags: [
      { long: '--resources', short: '-r', value: '<file>', description: "path to the file containing the resources to update or '-' to read from the standard input" },
      { long: '--blkio-weight', value: '<n>', description: 'specifies per cgroup weight, range is from 10 to 1000' },
      { long: '--cpu-period', value: '<n>', description: 'CPU CFS period to be used for hardcapping (in usecs). 0 to use system default' },
      { long: '--cpu-quota', value: '<n>', description: 'CPU CFS hardcap limit (in usecs). Allowed cpu time in a given period' },
      { long: '--cpu-share', value: '<n>', description: 'CPU shares (relative weight vs. other containers)' },
      { long: '--cpu-rt-period', value: '<n>', description: 'CPU realtime period to be used for hardcapping (in usecs). 0 to use system default' },
      { long: '--cpu-rt-runtime', value: '<n>', description: 'CPU realtime hardcap limit (in usecs). Allowed cpu time in a given period' },
      { long: '--cpuset-cpus', value: '<list>', description: 'CPU(s) to use' },
      { long: '--cpuset-mems', value: '<list>', description: 'Memory node(s) to use' },
      { long: '--memory', value: '<size>', description: 'Memory limit (in bytes, or with a k/m/g suffix; -1 for unlimited)' },
      { long: '--memory-reservation', value: '<size>', description: 'Memory reservation or soft_limit (in bytes)' },
      { long: '--memory-swap', value: '<size>', description: 'Total memory usage (memory + swap); set -1 to enable unlimited swap' },
      { long: '--pids-limit', value: '<n>', description: 'Maximum number of pids allowed in the container' },
      { long: '--cpu-idle', value: '<n>', description: 'set cgroup SCHED_IDLE or not, 0: default behavior, 1: SCHED_IDLE' },
      { long: '--cpu-burst', value: '<n>', description: 'CPU CFS hardcap burst limit (in usecs). Allowed accumulated cpu time additionally for burst a given period' },
    ],
    args: [id],
    action: async (g, a, o) => (await cgroups()).updateAction(g, str(a[0]), o),
  },
  {
    name: 'events',
    description: 'display container events such as OOM notifications, cpu, memory, and IO usage statistics',
    flags: [
      { long: '--interval', value: '<duration>', default: '5s', description: 'set the stats collection interval' },
      { long: '--stats', description: "display the container's stats then exit" },
    ],
    args: [id],
    action: async (g, a, o) => (await cgroups()).eventsAction(g, str(a[0]), o),
  },
];

/** commander's attribute name: `--pid-file` -> pidFile, `--no-pivot` -> pivot. */
export function attributeName(long: string): string {
  return long
    .replace(/^--(no-)?/, '')
    .replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
}

export const isNegated = (f: FlagSpec): boolean => !f.value && f.long.startsWith('--no-');
