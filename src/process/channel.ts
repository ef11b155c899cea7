// The sync socket between the runtime (R) and nsexec/init: SOCK_SEQPACKET,
// so every write is one message and a read never returns half of one or two
// glued together. Blocking reads on purpose: R has nothing else to do while
// it waits, and init must not run anything before its plan arrives.
import * as fs from 'node:fs';
import type { Message } from './messages.js';

// Larger than any plan we send (a spec with a big seccomp profile is ~100 KiB).
const MAX_MESSAGE = 1 << 20;

export class Channel {
  private buf: Buffer | undefined;
  constructor(readonly fd: number) {}

  send(msg: Message): void {
    const data = Buffer.from(JSON.stringify(msg));
    if (data.length > MAX_MESSAGE) throw new Error(`sync message too large (${data.length} bytes)`);
    fs.writeSync(this.fd, data);
  }

  /** The next message, or null when the peer is gone (EOF). */
  recv(): Message | null {
    this.buf ??= Buffer.allocUnsafe(MAX_MESSAGE);
    let n: number;
    for (;;) {
      try {
        n = fs.readSync(this.fd, this.buf, 0, this.buf.length, null);
        break;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EINTR' || code === 'EAGAIN') continue;
        if (code === 'ECONNRESET') return null;
        throw e;
      }
    }
    if (n === 0) return null;
    return JSON.parse(this.buf.toString('utf8', 0, n)) as Message;
  }

  close(): void {
    try {
      fs.closeSync(this.fd);
    } catch {
      // already closed
    }
  }
}
