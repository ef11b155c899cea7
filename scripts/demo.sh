#!/usr/bin/env bash
# `make demo`: runs one container with tsrunc. The bundle is built on the spot
# from Debian's busybox-static (one static binary plus applet links), its
# config.json comes from `tsrunc spec` and is edited to run a short,
# non-interactive script. Everything is removed afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
TSRUNC=${TSRUNC:-$repo/bin/tsrunc}
NODE=$repo/node_modules/node/bin/node
BUSYBOX=${BUSYBOX:-/bin/busybox}

bundle=$(mktemp -d /tmp/tsrunc-demo-bundle.XXXXXX)
root=$(mktemp -d /run/tsrunc-demo-root.XXXXXX)
id=demo-$$
cleanup() {
  "$TSRUNC" --root "$root" delete --force "$id" >/dev/null 2>&1 || true
  rm -rf "$bundle" "$root"
}
trap cleanup EXIT

echo "demo: building a busybox rootfs in $bundle"
mkdir -p "$bundle"/rootfs/{bin,etc,proc,sys,dev,tmp,root}
cp "$BUSYBOX" "$bundle/rootfs/bin/busybox"
for applet in $("$BUSYBOX" --list); do
  [ "$applet" = busybox ] || ln -s busybox "$bundle/rootfs/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n' >"$bundle/rootfs/etc/passwd"
printf 'root:x:0:\nnobody:x:65534:\n' >"$bundle/rootfs/etc/group"

# The default config from `tsrunc spec`; the test helper's baseline (the
# same config runc spec writes) if spec is not available.
if ! (cd "$bundle" && "$TSRUNC" spec >/dev/null 2>&1 && [ -s config.json ]); then
  echo "demo: \`tsrunc spec\` unavailable, using the test helper's default config"
  "$NODE" -e '
    import("'"$repo"'/test/helpers/bundle.ts").then((m) =>
      require("fs").writeFileSync(process.argv[1], JSON.stringify(m.baseConfig(), null, 2)));
  ' "$bundle/config.json"
fi

# A friendly, non-interactive program instead of the default interactive sh.
cat >"$bundle/rootfs/hello.sh" <<'SCRIPT'
echo "Hello from a container started by tsrunc!"
echo "hostname: $(hostname)"
echo "user:     $(id)"
echo "kernel:   $(uname -sr)"
echo "processes (this shell is PID 1 of its own PID namespace):"
ps -o pid,user,args
SCRIPT
"$NODE" -e '
  const fs = require("fs");
  const file = process.argv[1];
  const c = JSON.parse(fs.readFileSync(file, "utf8"));
  c.process.terminal = false;
  c.process.args = ["sh", "/hello.sh"];
  c.hostname = "tsrunc-demo";
  fs.writeFileSync(file, JSON.stringify(c, null, 2));
' "$bundle/config.json"

echo "demo: $TSRUNC run --bundle $bundle $id"
echo
"$TSRUNC" --root "$root" run --bundle "$bundle" "$id" </dev/null
echo
echo "demo: done; the container is gone:"
"$TSRUNC" --root "$root" list
