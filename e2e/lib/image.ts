// A busybox image built locally from the host's static busybox (no registry):
// a rootfs tarball (for `podman import`) and a single-layer OCI image-layout
// tarball (for `ctr images import`).
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';

const BUSYBOX = process.env.BUSYBOX ?? '/bin/busybox';

/** Writes `<dir>/busybox-rootfs.tar` and returns its path. */
export function busyboxRootfsTar(dir: string): string {
  const root = fs.mkdtempSync(path.join(dir, 'rootfs.'));
  for (const d of ['bin', 'etc', 'proc', 'sys', 'dev', 'tmp', 'root']) fs.mkdirSync(path.join(root, d), { recursive: true });
  fs.copyFileSync(BUSYBOX, path.join(root, 'bin/busybox'));
  fs.chmodSync(path.join(root, 'bin/busybox'), 0o755);
  for (const a of execFileSync(BUSYBOX, ['--list'], { encoding: 'utf8' }).split('\n')) {
    if (a && a !== 'busybox') fs.symlinkSync('busybox', path.join(root, 'bin', a));
  }
  fs.writeFileSync(path.join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n');
  fs.writeFileSync(path.join(root, 'etc/group'), 'root:x:0:\nnobody:x:65534:\n');
  const out = path.join(dir, 'busybox-rootfs.tar');
  execFileSync('tar', ['-C', root, '-cf', out, '.']);
  fs.rmSync(root, { recursive: true, force: true });
  return out;
}

function blob(dir: string, data: Buffer): { digest: string; size: number } {
  const hex = crypto.createHash('sha256').update(data).digest('hex');
  fs.writeFileSync(path.join(dir, 'blobs/sha256', hex), data);
  return { digest: `sha256:${hex}`, size: data.length };
}

/** Wraps a rootfs tarball as an OCI image layout tarball named `name`; returns its path. */
export function ociImageTar(dir: string, rootfsTar: string, name = 'docker.io/library/busybox:latest'): string {
  const w = fs.mkdtempSync(path.join(dir, 'oci.'));
  fs.mkdirSync(path.join(w, 'blobs/sha256'), { recursive: true });
  const layer = blob(w, fs.readFileSync(rootfsTar));
  const config = blob(
    w,
    Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh'], WorkingDir: '/' },
        rootfs: { type: 'layers', diff_ids: [layer.digest] },
      }),
    ),
  );
  const manifest = blob(
    w,
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer }],
      }),
    ),
  );
  fs.writeFileSync(
    path.join(w, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          ...manifest,
          annotations: { 'io.containerd.image.name': name, 'org.opencontainers.image.ref.name': name.slice(name.lastIndexOf(':') + 1) },
        },
      ],
    }),
  );
  fs.writeFileSync(path.join(w, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const out = path.join(dir, 'busybox-oci.tar');
  execFileSync('tar', ['-C', w, '-cf', out, 'oci-layout', 'index.json', 'blobs']);
  fs.rmSync(w, { recursive: true, force: true });
  return out;
}
