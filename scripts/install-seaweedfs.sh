#!/usr/bin/env bash
# Installs SeaweedFS (`weed`), the S3-compatible server the DigitalOcean Spaces upload tests run
# against, built from Go modules into a versioned cache directory outside the repo:
#
#   ${EXOFORM_CACHE:-$HOME/.cache/exoform}/seaweedfs/<version>/bin/weed
#
# The pin comes from scripts/seaweedfs-version: one line "<version> <module version>", e.g.
# "4.53 v0.0.0-20261109003541-7506e5f91cd6". SeaweedFS publishes no Go-module tags, so the
# module version is the pseudo-version the Go module proxy serves for the release commit
# (weed/util/version/constants.go at that commit says MAJOR.MINOR = the first field).
#
# Why a wrapper module: SeaweedFS's go.mod has a `replace` (go-bip39 => cosmos/go-bip39), so
# `go install …@version` is refused. A throwaway module requires the pinned version, repeats
# that replace, and builds the weed command from there. The first build takes about 12 minutes
# on 2 cores (2.7 GB RSS, about 7 GB of Go caches); later runs see the stamp and do nothing.
#
# Idempotent: a complete install is detected by its stamp file and left alone. Atomic: built
# into a stage directory on the same filesystem and moved into place. Locked: one installer per
# version at a time (flock).
#
# Environment:
#   EXOFORM_CACHE                  cache root (default $HOME/.cache/exoform)
#   EXOFORM_GO_BUILD_JOBS          `go build -p` (default 2)
#   EXOFORM_SEAWEEDFS_REINSTALL=1  rebuild even when the version is already installed
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

MODULE=github.com/seaweedfs/seaweedfs
PKG=$MODULE/weed
# The one replace directive of SeaweedFS's own go.mod at the pinned commit.
REPLACES=("github.com/tyler-smith/go-bip39=github.com/cosmos/go-bip39@v1.0.0")

say() { echo "install-seaweedfs: $*" >&2; }
die() {
  echo "install-seaweedfs: error: $*" >&2
  exit 1
}

# ---- version pin ----
version_file="$here/seaweedfs-version"
[ -f "$version_file" ] || die "missing $version_file (one line: '<version> <Go module version>')"
read -r VERSION MODVER _ <"$version_file" || true
[[ "${VERSION:-}" =~ ^[0-9]+\.[0-9]+$ ]] || die "$version_file: first field must be a version like 4.53, found '${VERSION:-}'"
[[ "${MODVER:-}" =~ ^v[0-9]+\.[0-9]+\.[0-9]+ ]] || die "$version_file: second field must be a Go module version, found '${MODVER:-}'"

CACHE=${EXOFORM_CACHE:-$HOME/.cache/exoform}
base="$CACHE/seaweedfs"
dest="$base/$VERSION"
bin="$dest/bin"
stamp="$dest/.exoform-install"
stamp_text="seaweedfs=$VERSION module=$MODVER"

installed() {
  [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$stamp_text" ] && [ -x "$bin/weed" ]
}

if installed && [ "${EXOFORM_SEAWEEDFS_REINSTALL:-0}" != 1 ]; then
  echo "seaweedfs $VERSION already in $bin"
  exit 0
fi

# ---- toolchain ----
GO=$(command -v go || true)
[ -n "$GO" ] || { [ -x /usr/local/go/bin/go ] && GO=/usr/local/go/bin/go; } ||
  die "the Go toolchain is needed to build SeaweedFS (go >= 1.26); install Go and put it on PATH"
go_ver=$("$GO" env GOVERSION 2>/dev/null) || die "'$GO env GOVERSION' failed; is the Go toolchain broken?"

mkdir -p "$base" || die "cannot create $base"

# One installer per version at a time.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$base/.lock-$VERSION"
  flock 9 || die "cannot lock $base/.lock-$VERSION"
  if installed && [ "${EXOFORM_SEAWEEDFS_REINSTALL:-0}" != 1 ]; then
    echo "seaweedfs $VERSION already in $bin"
    exit 0
  fi
  # Holding the lock, leftovers of a killed earlier run can go.
  rm -rf "$base/.stage-$VERSION."* "$base/.old-$VERSION."*
fi

say "building seaweedfs $VERSION ($MODULE@$MODVER) with $go_ver; the first build takes about 12 minutes"

work=$(mktemp -d "${TMPDIR:-/tmp}/exoform-seaweedfs-build.XXXXXX")
stage=$(mktemp -d "$base/.stage-$VERSION.XXXXXX") # same filesystem as $dest: mv is atomic
cleanup() { rm -rf "$work" "$stage"; }
trap cleanup EXIT

export GOWORK=off GOFLAGS="-mod=mod -buildvcs=false"
jobs=${EXOFORM_GO_BUILD_JOBS:-2}

# run LOGFILE STEP CMD...: run a command in $work quietly; on failure show the log tail and stop.
run() {
  local log=$1 step=$2
  shift 2
  if ! (cd "$work" && "$@") >"$log" 2>&1; then
    echo "install-seaweedfs: error: $step failed: $*" >&2
    tail -n 40 "$log" | sed 's/^/  | /' >&2
    exit 1
  fi
}

# ---- the wrapper module ----
printf 'module exoform.invalid/seaweedfs\n\ngo 1.26\n' >"$work/go.mod"
run "$work/edit.log" "writing the wrapper go.mod" "$GO" mod edit -require="$MODULE@$MODVER"
for r in "${REPLACES[@]}"; do
  run "$work/edit.log" "writing the wrapper go.mod" "$GO" mod edit -replace="$r"
done
run "$work/get.log" "resolving $PKG@$MODVER" "$GO" get "$PKG@$MODVER"
got=$(cd "$work" && "$GO" list -m -f '{{.Version}}' "$MODULE") || die "go list -m $MODULE failed in $work"
[ "$got" = "$MODVER" ] || die "$MODULE resolved to $got, expected $MODVER"

# ---- build ----
mkdir -p "$stage/bin"
start=$SECONDS
run "$work/build.log" "go build of weed" "$GO" build -trimpath -p "$jobs" -ldflags "-s -w" -o "$stage/bin/weed" "$PKG"
say "built weed in $((SECONDS - start))s"

# ---- check, then install atomically ----
out=$("$stage/bin/weed" version 2>&1) || die "the freshly built weed does not run: $out"
grep -q " $VERSION" <<<"$out" || die "the freshly built weed reports '$out', expected version $VERSION"
echo "$stamp_text" >"$stage/.exoform-install"
chmod 0755 "$stage"

if [ -e "$dest" ]; then
  old="$base/.old-$VERSION.$$"
  mv "$dest" "$old" || die "cannot move the previous $dest aside"
  mv "$stage" "$dest" || die "cannot move the new install into $dest"
  rm -rf "$old"
else
  mv "$stage" "$dest" || die "cannot move the new install into $dest"
fi
say "installed seaweedfs $VERSION into $bin"
