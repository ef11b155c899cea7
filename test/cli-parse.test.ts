// The fast argv parser against commander built from the same table: every
// argv the fast parser accepts must reach the same command with the same
// globals, arguments and options (and whatever it refuses, commander words).
import t from 'tap';
import { normalizeBooleans } from '../src/cli/argv.js';
import { defaultGlobals } from '../src/cli/context.js';
import { parseArgv } from '../src/cli/parse.js';
import { COMMANDS, GLOBAL_FLAGS, PROGRAM, type CommandSpec } from '../src/cli/spec-table.js';
import { runCommander } from '../src/cli/usage.js';

type Call = { c: string; g: unknown; a: unknown; o: unknown };

/** Key order and empty variadics aside (commander leaves a missing one undefined). */
const norm = (x: unknown): string =>
  JSON.stringify(x, (_k, v: unknown) =>
    Array.isArray(v) && v.length === 0 ? undefined : v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort()) : v,
  );

async function viaCommander(argv: string[]): Promise<string> {
  const calls: Call[] = [];
  const commands: CommandSpec[] = COMMANDS.map((c) => ({ ...c, action: (g, a, o) => void calls.push({ c: c.name, g, a, o }) }));
  const res = await runCommander(normalizeBooleans(argv), {
    program: PROGRAM, globalFlags: GLOBAL_FLAGS, commands, globals: defaultGlobals(),
    out: () => {}, err: () => {}, versionText: () => '', beforeAction: () => {},
  });
  return calls[0] ? norm(calls[0]) : `error: ${res.message}`;
}

function viaFast(argv: string[]): string | undefined {
  const inv = parseArgv(argv);
  return inv && norm({ c: inv.command.name, g: inv.globals, a: inv.args, o: inv.opts });
}

t.test('what the fast parser returns', async (t) => {
  const inv = parseArgv(['--root=/r', 'create', '-b', '/b', 'id', '--no-pivot', '--debug=true', '--pid-file', '/p']);
  t.equal(inv?.command.name, 'create');
  t.same(inv?.args, ['id']);
  t.match(inv?.globals, { root: '/r', debug: true });
  t.match(inv?.opts, { bundle: '/b', pivot: false, pidFile: '/p' });
  t.match(parseArgv(['spec', '--rootless'])?.opts, { rootless: true }, "spec's own --rootless shadows the global");
  t.match(parseArgv(['--rootless', 'false', 'spec'])?.globals, { rootless: 'false' });
  t.same(parseArgv(['ps', 'id', '-o', 'pid', '--', 'x'])?.args, ['id', ['-o', 'pid', '--', 'x']], 'ps passes everything after the id');
  t.same(parseArgv(['kill', 'id', '--', '-9'])?.args, ['id', '-9'], '-- ends flags');
  t.match(parseArgv(['list'])?.opts, { format: 'table' }, 'defaults');
  for (const bad of [[], ['--help'], ['state', '-h', 'x'], ['help', 'state'], ['bogus'], ['state'], ['state', 'a', 'b'], ['--bogus', 'list'], ['list', '-f', 'yaml'], ['--root'], ['-qd', 'list'], ['--debug=maybe', 'list']]) {
    t.equal(parseArgv(bad), undefined, `${bad.join(' ') || '(none)'}: left to commander`);
  }
});

t.test('same result as commander wherever the fast parser accepts', async (t) => {
  const cases = [
    ['state', 'x'], ['state', 'x', '--root', '/r', '--log-format=json'], ['--debug=false', '--systemd-cgroup=true', 'state', 'x'],
    ['create', '--bundle=/b', '--console-socket', '/s', 'id', '--no-new-keyring', '--preserve-fds', '2'], ['run', '-d', '--keep', 'id'],
    ['kill', '-a', 'id', 'KILL'], ['delete', '--force', 'id', '--log', '/l'], ['list', '-q', '--format=json'], ['--rootless=true', 'spec', '-b', '/x'],
    ['ps', '-f', 'json', 'id'], ['ps', 'id', 'aux'], ['ps', '--', 'id', 'x'], ['update', 'id', '--memory', '1m', '-r', '-'], ['events', '--stats', 'id'],
    ['exec', 'id', 'sh', '-c', 'true'], ['exec', '-e', 'A=1', '--env', 'B=2', '-t', 'id', 'ls'], ['features'],
  ];
  for (const argv of cases) {
    const fast = viaFast(argv);
    t.ok(fast, `${argv.join(' ')}: fast`);
    t.equal(fast, await viaCommander(argv), argv.join(' '));
  }
  // Random argvs from the words runc's clients use.
  const words = ['state', 'kill', 'delete', 'run', 'create', 'list', 'ps', 'spec', 'exec', 'x', 'y', '-f', '-a', '-d', '-b', '-e', 'A=1', '--root', '/r', '--root=/q', '--debug', '--log-format', 'json', '--rootless', 'true', '--no-pivot', '--', '-q', '--format=json', '--pid-file', '-', '--stats', 'KILL'];
  let seed = 1;
  const rnd = (n: number): number => ((seed = (Math.imul(seed, 48271) >>> 0) % 0x7fffffff), seed % n);
  let compared = 0;
  for (let k = 0; k < 4000; k++) {
    const argv = Array.from({ length: 1 + rnd(6) }, () => words[rnd(words.length)]!);
    const fast = viaFast(argv);
    if (!fast) continue;
    compared++;
    const slow = await viaCommander(argv);
    if (fast !== slow) t.equal(fast, slow, JSON.stringify(argv));
  }
  t.ok(compared > 100, `${compared} random argvs accepted and compared`);
});
