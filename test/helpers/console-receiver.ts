// A console-socket receiver for tests, in Python (socket.recv_fds): takes
// one fd with SCM_RIGHTS, types argv[2] into that pty master and collects
// what comes back until the container closes the pty; prints one JSON line.
import * as fs from 'node:fs';
import * as path from 'node:path';

const SOURCE = `import json, os, select, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(1)
print("listening", flush=True)
c, _ = s.accept()
msg, fds, _, _ = socket.recv_fds(c, 4096, 1)
m = fds[0]
os.write(m, sys.argv[2].encode())
out = b""
end = time.time() + 10
while time.time() < end:
    r, _, _ = select.select([m], [], [], 0.2)
    if not r: continue
    try:
        d = os.read(m, 4096)
    except OSError:
        break
    if not d: break
    out += d
print(json.dumps({"name": msg.decode().rstrip("\\0"), "fds": len(fds), "out": out.decode(errors="replace")}), flush=True)
`;

/** Writes the receiver into `dir`; run it as `python3 <path> <socket> <input>`. */
export function writeConsoleReceiver(dir: string): string {
  const file = path.join(dir, 'receiver.py');
  fs.writeFileSync(file, SOURCE);
  return file;
}
