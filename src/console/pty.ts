// The container's console, made by Node-init after pivot_root (runc's
// setupConsole, crun's terminal.c): a pty from the container's own devpts
// instance, its slave bound onto /dev/console, made the controlling terminal
// of init's new session and dup'ed onto 0/1/2; the master goes to R over the
// sync socket (SCM_RIGHTS) and from there to --console-socket or to `run`'s relay.
import * as fs from 'node:fs';
import { MS, type Sys } from '../sys/linux.js';

const TIOCGPTN = 0x80045430;
const TIOCSPTLCK = 0x40045431;
const TIOCSCTTY = 0x540e;
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
  s.ioctl(master, TIOCSPTLCK, Buffer.alloc(4)); // unlockpt
  const n = Buffer.alloc(4);
  s.ioctl(master, TIOCGPTN, n);
  const name = `/dev/pts/${n.readUInt32LE(0)}`;
  if (size && (size.height || size.width)) s.ioctl(master, TIOCSWINSZ, winsize(size.height, size.width));
  const slave = fs.openSync(name, O_RDWR | O_NOCTTY | (O_CLOEXEC ?? 0o2000000));
  return { master, slave, name };
}

/** runc's mountConsole: /dev/console is a bind of the slave, so `tty` in the container prints /dev/console. */
export function bindConsole(s: Sys, pty: Pty): void {
  try {
    fs.closeSync(fs.openSync('/dev/console', fs.constants.O_CREAT | fs.constants.O_WRONLY, 0o600));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new Error(`create /dev/console: ${(e as Error).message}`);
  }
  s.mount(pty.name, '/dev/console', null, MS.BIND, null);
}

/** New session with the slave as its controlling terminal; the slave on 0, 1 and 2. */
export function takeConsole(s: Sys, pty: Pty): void {
  s.setsid();
  s.ioctl(pty.slave, TIOCSCTTY, 0);
  for (const fd of [0, 1, 2]) s.dup2(pty.slave, fd);
  if (pty.slave > 2) fs.closeSync(pty.slave);
}
