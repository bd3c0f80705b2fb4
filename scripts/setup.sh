#!/usr/bin/env bash
# Prepares a Debian or Ubuntu host to build and test ACES: system packages, npm dependencies,
# build. Run as root, from anywhere; safe to run again (it only installs what is missing).
# Prints one line per step; on failure names the step and shows the end of its output.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

export DEBIAN_FRONTEND=noninteractive
LOG="$(mktemp -t aces-setup.XXXXXX)"
trap 'rm -f "$LOG"' EXIT

say() { printf 'setup: %s\n' "$*"; }

fail() {
  say "FAILED at step '$1'${2:+: $2}"
  if [ -s "$LOG" ]; then
    # Tools such as npm print the cause first and pages of help after it: show both ends.
    if [ "$(wc -l <"$LOG")" -le 40 ]; then
      sed 's/^/  | /' "$LOG"
    else
      grep -m 10 -iE 'error|fail|fatal|cannot|unable' "$LOG" | sed 's/^/  | /' || true
      printf '  | ...\n'
      tail -n 20 "$LOG" | sed 's/^/  | /'
    fi
  fi
  exit 1
}

# step NAME CMD...: runs CMD quietly, output kept for the failure report only.
step() {
  local name="$1"
  shift
  say "$name"
  : >"$LOG"
  "$@" </dev/null >"$LOG" 2>&1 || fail "$name"
}

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
available() { [ -n "$(apt-cache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: //p' | grep -v '(none)')" ]; }

# A bpftool that runs: on Ubuntu /usr/sbin/bpftool is a wrapper that fails unless the tools
# package for the running kernel is installed.
bpftool_works() { command -v bpftool >/dev/null 2>&1 && bpftool version >/dev/null 2>&1; }

PACKAGES=(clang llvm libbpf-dev libelf-dev zlib1g-dev pkg-config make g++ python3
  busybox-static qemu-system-x86 cpio e2fsprogs xz-utils debootstrap)
# A host with Docker from docker.com (docker-ce, containerd.io) conflicts with docker.io.
if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
  PACKAGES+=(docker.io)
fi

missing=()
for p in "${PACKAGES[@]}"; do installed "$p" || missing+=("$p"); done
need_bpftool=0
bpftool_works || need_bpftool=1

if [ "${#missing[@]}" -gt 0 ] || [ "$need_bpftool" -eq 1 ]; then
  wanted="${missing[*]:-}"
  [ "$need_bpftool" -eq 0 ] || wanted="${wanted:+$wanted }bpftool"
  [ "$(id -u)" -eq 0 ] || fail "check privileges" "installing packages needs root (missing: $wanted)"
  command -v apt-get >/dev/null 2>&1 || fail "check distribution" "apt-get not found: this script supports Debian and Ubuntu"
  step "apt-get update" apt-get -qq -o DPkg::Lock::Timeout=300 update
  if [ "$need_bpftool" -eq 1 ]; then
    # Debian ships bpftool on its own; Ubuntu in linux-tools for each kernel.
    candidates=()
    if available bpftool; then
      candidates=(bpftool)
    elif available "linux-tools-$(uname -r)"; then
      candidates=(linux-tools-common "linux-tools-$(uname -r)")
    elif available linux-tools-generic; then
      candidates=(linux-tools-common linux-tools-generic)
    fi
    [ "${#candidates[@]}" -gt 0 ] || fail "find bpftool" "no bpftool, linux-tools-$(uname -r) or linux-tools-generic package"
    missing+=("${candidates[@]}")
  fi
  step "apt-get install ${missing[*]}" apt-get -qq -y --no-install-recommends \
    -o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    install "${missing[@]}"
  if ! bpftool_works; then
    # linux-tools-generic matches another kernel than the running one: its bpftool still works
    # (vmlinux.h comes from /sys/kernel/btf/vmlinux, not from the tools' kernel).
    found="$(ls -1 /usr/lib/linux-tools/*/bpftool /usr/lib/linux-tools-*/bpftool 2>/dev/null | sort -V | tail -n 1 || true)"
    if [ -n "$found" ] && "$found" version >/dev/null 2>&1; then
      step "link bpftool ($found)" ln -sf "$found" /usr/local/sbin/bpftool
    fi
  fi
else
  say "system packages present"
fi
bpftool_works || fail "check bpftool" "bpftool does not run; it is needed to generate vmlinux.h"

command -v node >/dev/null 2>&1 || fail "check node" "Node.js 20 or newer is required (https://nodejs.org or NodeSource)"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$node_major" -ge 20 ] || fail "check node" "Node.js 20 or newer is required, found $(node -v)"

# node-gyp downloads Node's headers unless told where they are; the nodejs packages install
# them next to node, so use those and keep the build offline.
nodedir="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"
if [ -z "${npm_config_nodedir:-}" ] && [ -f "$nodedir/include/node/common.gypi" ]; then
  export npm_config_nodedir="$nodedir"
fi

# npm ci wipes node_modules, so only run it when the installed tree differs from the lockfile
# or the lockfile from package.json (then npm ci is the one to say so).
npm_tree_current() {
  node --input-type=commonjs - <<'EOF'
const fs = require('node:fs');
const read = (f) => JSON.parse(fs.readFileSync(f, 'utf8'));
let lock, manifest;
try { lock = read('package-lock.json'); manifest = read('package.json'); } catch { process.exit(1); }
const root = lock.packages?.[''] ?? {};
for (const k of ['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies']) {
  if (JSON.stringify(root[k] ?? {}) !== JSON.stringify(manifest[k] ?? {})) process.exit(1);
}
for (const [p, meta] of Object.entries(lock.packages ?? {})) {
  if (p === '' || meta.link || !p.startsWith('node_modules/')) continue;
  let pkg;
  try { pkg = read(`${p}/package.json`); } catch { if (meta.optional) continue; process.exit(1); }
  if (pkg.version !== meta.version) process.exit(1);
}
EOF
}

export npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false npm_config_progress=false
if [ -f package-lock.json ]; then
  if npm_tree_current; then
    say "npm dependencies up to date"
  else
    step "npm ci" npm ci --no-audit --no-fund
  fi
else
  step "npm install" npm install --no-audit --no-fund
fi

step "npm run build" npm run build
say "done"
