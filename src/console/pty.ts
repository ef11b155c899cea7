// The container's console, made by Node-init after pivot_root (runc's
// setupConsole, crun's terminal.c): a pty from the container's own devpts
// instance, its slave bound onto /dev/console, made the controlling terminal
// of init's new session and dup'ed onto 0/1/2; the master goes to R over the
// sync socket (SCM_RIGHTS) and from there to --console-socket or to `run`'s relay.
// Every path here is the container's (after pivot_root, or in exec a running
// container's): the master is checked to be a ptmx, the slave comes from the
// master (TIOCGPTPEER), never from the /dev/pts/N path, and the bind names
// both ends by fd through the runtime's own procfs (CVE-2025-52565).
import * as fs from 'node:fs';
import { TsruncError } from '../errors.js';
import { MS, RESOLVE, type Sys } from '../sys/linux.js';
import type { Procfs } from '../sys/procfs.js';
import { openInRoot, rdevOf } from '../rootfs/safe.js';

const TIOCGPTN = 0x80045430;
const TIOCSPTLCK = 0x40045431;
const TIOCSCTTY = 0x540e;
const TIOCGPTPEER = 0x5441;
const O_PATH = 0o10000000;
const O_NOFOLLOW = 0o400000;
export const TIOCGWINSZ = 0x5413;
export const TIOCSWINSZ = 0x5414;

export interface Pty {
  master: number;
  slave: number;
  /** /dev/pts/N inside the container: the payload runc sends with the master. */
  name: string;
}

export function winsize(rows: number, cols: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt16LE(rows, 0);
  b.writeUInt16LE(cols, 2);
  return b;
}

/** After pivot_root: /dev/pts/ptmx is the container's devpts instance (/dev/ptmx when /dev/pts is not one). */
export function openPty(s: Sys, size?: { height: number; width: number }): Pty {
  const { O_RDWR, O_NOCTTY, O_CLOEXEC } = fs.constants as typeof fs.constants & { O_CLOEXEC: number };
  const ptmx = fs.existsSync('/dev/pts/ptmx') ? '/dev/pts/ptmx' : '/dev/ptmx';
  let master: number;
  try {
    master = fs.openSync(ptmx, O_RDWR | O_NOCTTY | (O_CLOEXEC ?? 0o2000000));
  } catch (e) {
    throw new Error(`create pty: open ${ptmx}: ${(e as Error).message}`);
  }
  try {
    const st = fs.fstatSync(master, { bigint: true });
    const r = rdevOf(st.rdev);
    // A symlink or a node the image made is refused unless it opened the pty multiplexer (5:2).
    if (!st.isCharacterDevice() || r.major !== 5 || r.minor !== 2) throw new TsruncError(`create pty: ${ptmx} is not the pty multiplexer (5:2)`);
    s.ioctl(master, TIOCSPTLCK, Buffer.alloc(4)); // unlockpt
    const n = Buffer.alloc(4);
    s.ioctl(master, TIOCGPTN, n);
    const name = `/dev/pts/${n.readUInt32LE(0)}`;
    if (size && (size.height || size.width)) s.ioctl(master, TIOCSWINSZ, winsize(size.height, size.width));
    const slave = s.ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | (O_CLOEXEC ?? 0o2000000));
    return { master, slave, name };
  } catch (e) {
    fs.closeSync(master);
    throw e;
  }
}

/**
 * runc's mountConsole: /dev/console is a bind of the slave, so `tty` in the
 * container prints /dev/console. Whatever the image has there that is not a
 * regular file or a device (a symlink into /proc, say) is replaced, never
 * followed; the target is opened below /dev with no symlink at all.
 */
export function bindConsole(s: Sys, proc: Procfs, pty: Pty): void {
  const root = fs.openSync('/', O_PATH | fs.constants.O_DIRECTORY | 0o2000000);
  let dev: number | undefined;
  let target: number | undefined;
  try {
    dev = openInRoot(s, root, '/dev', fs.constants.O_DIRECTORY);
    proc.withFdPaths(s, (fdPath) => {
      const console = `${fdPath(dev!)}/console`;
      let st: fs.Stats | undefined;
      try {
        st = fs.lstatSync(console);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
      if (st && !st.isFile() && !st.isCharacterDevice()) {
        if (st.isDirectory()) throw new TsruncError('/dev/console in the rootfs is a directory: cannot bind the console there');
        fs.unlinkSync(console);
        st = undefined;
      }
      if (!st) fs.closeSync(fs.openSync(console, fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_WRONLY | O_NOFOLLOW | 0o2000000, 0o600));
      target = s.openat2(dev!, 'console', O_PATH | O_NOFOLLOW | 0o2000000, 0, RESOLVE.BENEATH | RESOLVE.NO_SYMLINKS | RESOLVE.NO_XDEV);
      s.mount(fdPath(pty.slave), fdPath(target), null, MS.BIND, null);
    });
  } catch (e) {
    if (e instanceof TsruncError) throw e;
    throw new TsruncError(`bind the console onto /dev/console: ${(e as Error).message}`);
  } finally {
    if (target !== undefined) fs.closeSync(target);
    if (dev !== undefined) fs.closeSync(dev);
    fs.closeSync(root);
  }
}

/** New session with the slave as its controlling terminal; the slave on 0, 1 and 2. */
export function takeConsole(s: Sys, pty: Pty): void {
  s.setsid();
  s.ioctl(pty.slave, TIOCSCTTY, 0);
  for (const fd of [0, 1, 2]) s.dup2(pty.slave, fd);
  if (pty.slave > 2) fs.closeSync(pty.slave);
}
