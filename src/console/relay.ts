// `run` in the foreground with process.terminal and no --console-socket:
// tsrunc itself is the console's other end. Our terminal goes raw (the
// container's pty does the line discipline), bytes are copied both ways,
// window size changes follow ours, and the mode is restored at exit.
import * as fs from 'node:fs';
// Types only: node:tty (with net and stream) costs every create ~5-10 ms;
// only the foreground relay needs it, loaded in startRelay.
import type * as Tty from 'node:tty';
import type { Sys } from '../sys/linux.js';
import { TIOCGWINSZ, TIOCSWINSZ } from './pty.js';

export interface Relay {
  /** Waits (bounded) until the container's output is drained, then restores our terminal. */
  finish(timeoutMs?: number): Promise<void>;
}

/** Our terminal's window size onto the container's pty (a no-op when we have no terminal). */
export function copySize(s: Sys, master: number): void {
  const ws = Buffer.alloc(8);
  for (const fd of [0, 1, 2]) {
    try {
      s.ioctl(fd, TIOCGWINSZ, ws);
      s.ioctl(master, TIOCSWINSZ, ws);
      return;
    } catch {
      // not a terminal: try the next one
    }
  }
}

function writeAll(fd: number, data: Buffer): void {
  let off = 0;
  while (off < data.length) {
    try {
      off += fs.writeSync(fd, data, off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') continue;
      throw e;
    }
  }
}

export function startRelay(s: Sys, master: number): Relay {
  copySize(s, master);
  const onWinch = (): void => copySize(s, master);
  process.on('SIGWINCH', onWinch);
  const tty = process.getBuiltinModule('node:tty');
  let input: Tty.ReadStream | fs.ReadStream | undefined;
  let raw = false;
  if (tty.isatty(0)) {
    const t = new tty.ReadStream(0);
    t.setRawMode(true);
    raw = true;
    input = t;
  } else {
    try {
      input = fs.createReadStream('', { fd: 0, autoClose: false });
    } catch {
      input = undefined;
    }
  }
  input?.on('data', (d: Buffer | string) => {
    try {
      writeAll(master, Buffer.isBuffer(d) ? d : Buffer.from(d));
    } catch {
      // the container's side is gone
    }
  });
  input?.on('error', () => undefined);
  // The master of a pty is a tty for libuv too; EIO once every slave is closed is its end.
  const out = new tty.ReadStream(master);
  const ended = new Promise<void>((resolve) => {
    out.on('data', (d: Buffer) => {
      try {
        writeAll(1, d);
      } catch {
        // our stdout is gone: keep draining so the container never blocks
      }
    });
    out.on('end', resolve);
    out.on('close', resolve);
    out.on('error', () => resolve());
  });
  return {
    async finish(timeoutMs = 2000): Promise<void> {
      await Promise.race([ended, new Promise((r) => setTimeout(r, timeoutMs).unref())]);
      process.off('SIGWINCH', onWinch);
      if (raw) (input as Tty.ReadStream).setRawMode(false);
      input?.destroy();
      out.destroy();
    },
  };
}
