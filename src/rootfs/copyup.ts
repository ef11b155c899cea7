// crun's tmpcopyup: a tmpfs mounted over a directory of the image starts
// with a copy of what it hides (e.g. /etc or /var/lib/x in a read-only
// image), owners, modes and symlinks kept.
import * as fs from 'node:fs';

export function copyTree(from: string, to: string): void {
  for (const name of fs.readdirSync(from)) {
    const src = `${from}/${name}`;
    const dst = `${to}/${name}`;
    const st = fs.lstatSync(src);
    if (st.isDirectory()) {
      fs.mkdirSync(dst, st.mode & 0o7777);
      copyTree(src, dst);
    } else if (st.isSymbolicLink()) {
      fs.symlinkSync(fs.readlinkSync(src), dst);
    } else if (st.isFile()) {
      fs.copyFileSync(src, dst);
    } else {
      // Device nodes, fifos and sockets are not copied (crun skips them too).
      continue;
    }
    fs.lchownSync(dst, st.uid, st.gid);
    if (!st.isSymbolicLink()) fs.chmodSync(dst, st.mode & 0o7777);
  }
}
