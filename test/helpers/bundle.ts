// Test bundles built from the host's static busybox (Debian's busybox-static):
// no network, and the same rootfs under tsrunc and runc for differential runs.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { defaultSpec } from '../../src/spec/default.js';

// tap hands its process tracking to every child through NODE_OPTIONS, and
// tsrunc is a Node program: that would load tap's hook into the runtime under
// test (slower, and its .tap/processinfo writes raced). Children run clean.
delete process.env.NODE_OPTIONS;

export const BUSYBOX = process.env.BUSYBOX ?? '/bin/busybox';
const TEMPLATE = path.join(os.tmpdir(), 'tsrunc-test-rootfs-template');

/** A rootfs with busybox and its applet links; built once per machine, copied per bundle. */
function template(): string {
  if (fs.existsSync(path.join(TEMPLATE, '.complete'))) return TEMPLATE;
  const tmp = `${TEMPLATE}.${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  for (const d of ['bin', 'etc', 'proc', 'sys', 'dev', 'tmp', 'root']) fs.mkdirSync(path.join(tmp, d), { recursive: true });
  fs.copyFileSync(BUSYBOX, path.join(tmp, 'bin/busybox'));
  fs.chmodSync(path.join(tmp, 'bin/busybox'), 0o755);
  const applets = execFileSync(BUSYBOX, ['--list'], { encoding: 'utf8' }).split('\n').filter((a) => a && a !== 'busybox');
  for (const a of applets) fs.symlinkSync('busybox', path.join(tmp, 'bin', a));
  fs.writeFileSync(path.join(tmp, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n');
  fs.writeFileSync(path.join(tmp, 'etc/group'), 'root:x:0:\nnobody:x:65534:\n');
  fs.writeFileSync(path.join(tmp, '.complete'), '');
  try {
    fs.renameSync(tmp, TEMPLATE);
  } catch {
    fs.rmSync(tmp, { recursive: true, force: true }); // another test won the race
  }
  return TEMPLATE;
}

/** The config `runc spec` writes (tsrunc's own `spec` default), with a non-terminal process: the common baseline. */
export function baseConfig(args: string[] = ['sh']): Record<string, any> {
  const c = defaultSpec() as Record<string, any>;
  // What runc 1.1.5's `spec` writes: the same bundle runs under both runtimes.
  c.ociVersion = '1.0.2';
  c.process.terminal = false;
  c.process.args = args;
  return c;
}

export interface Bundle {
  dir: string;
  rootfs: string;
  config: Record<string, any>;
  /** Rewrites config.json from `config` (after a test edits it). */
  save(): void;
  remove(): void;
}

/** A fresh bundle in a temp dir; `edit` may change the config before it is written. */
export function makeBundle(edit?: (c: Record<string, any>) => void, args?: string[]): Bundle {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsr-test-bundle-'));
  const rootfs = path.join(dir, 'rootfs');
  fs.cpSync(template(), rootfs, { recursive: true, verbatimSymlinks: true });
  fs.rmSync(path.join(rootfs, '.complete'));
  const config = baseConfig(args);
  edit?.(config);
  const b: Bundle = {
    dir,
    rootfs,
    config,
    save: () => fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(b.config, null, 2)),
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
  b.save();
  return b;
}

/** A private state root per test file, so tests never see each other's containers. */
export function makeRoot(): string {
  const root = fs.mkdtempSync(path.join('/run', 'tsr-test-root-'));
  // Also when a test file dies half-way. Only an empty root goes: a record
  // left inside is a container a test failed to delete, kept as evidence.
  process.once('exit', () => {
    try {
      fs.rmdirSync(root);
    } catch {
      // already removed by the test, or not empty
    }
  });
  return root;
}
