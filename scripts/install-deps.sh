#!/usr/bin/env bash
# Installs what building and testing tsrunc needs on a fresh Debian 12 machine
# (run as root; `make deps` calls it). Checks first, so it is quick and silent
# when everything is already there. Safe with CI=true and no stdin.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages, and the command or file that shows each is installed.
#   runc            the reference runtime for differential tests and the bench
#   busybox-static  the rootfs of every test bundle (test/helpers/bundle.ts)
#   hyperfine       make bench
#   iproute2        `ip netns` in the namespace-path conformance tests
#   libseccomp2     loaded through koffi for process seccomp filters
#   gcc libc6-dev make  the static native/nsexec.c helper and the Makefile
#   util-linux      nsenter, unshare, mount (standard, but not in every image)
#   procps          ps, for the demo
declare -A want=(
  [runc]=/usr/sbin/runc
  [busybox-static]=   # by package: a dynamic busybox also owns /bin/busybox
  [hyperfine]=/usr/bin/hyperfine
  [iproute2]=/usr/bin/ip
  [libseccomp2]=
  [gcc]=/usr/bin/gcc
  [libc6-dev]=/usr/include/stdio.h
  [make]=/usr/bin/make
  [util-linux]=/usr/bin/nsenter
  [procps]=/usr/bin/ps
)
# `install-deps.sh e2e`: the clients of make e2e as well.
#   containerd      containerd + ctr + containerd-shim-runc-v2
#   podman conmon   podman, daemonless
#   bsdutils        script(1), a pty for the -t scenarios
if [ "${1:-}" = e2e ]; then
  want[containerd]=/usr/bin/containerd
  want[podman]=/usr/bin/podman
  want[conmon]=/usr/bin/conmon
  want[bsdutils]=/usr/bin/script
fi
# npm (on the machine image) is needed only to fetch node_modules, which
# bring Node 24 itself; Debian's npm is the fallback.
[ -x node_modules/node/bin/node ] || command -v npm >/dev/null 2>&1 || want[npm]=/usr/bin/npm

missing=()
for pkg in "${!want[@]}"; do
  probe=${want[$pkg]}
  if [ -n "$probe" ] && [ -e "$probe" ]; then continue; fi
  if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed'; then continue; fi
  missing+=("$pkg")
done

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing ${missing[*]} and not root; install them (apt-get install ${missing[*]})" >&2
    exit 1
  fi
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq </dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null >/dev/null
fi

if [ ! -x node_modules/node/bin/node ]; then
  echo "install-deps: npm ci"
  npm ci --no-audit --no-fund </dev/null
  touch node_modules/.installed
fi
