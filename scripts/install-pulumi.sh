#!/usr/bin/env bash
# Installs the Pulumi CLI, built from Go modules, into a versioned cache directory outside the
# repo:
#
#   ${EXOFORM_CACHE:-$HOME/.cache/exoform}/pulumi/<version>/bin/
#       pulumi                          the CLI      (github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
#       pulumi-language-nodejs          the Node.js language host (see LANGHOST_SDK_VERSION)
#       pulumi-resource-pulumi-nodejs   launcher for dynamic providers (written here)
#
# The version comes from scripts/pulumi-version (one line, e.g. 3.259.0) and must equal the
# @pulumi/pulumi version pinned in package.json. Prebuilt CLI downloads cannot be reached from
# our machines, so the CLI is compiled from the Go module proxy with the local Go toolchain.
#
# Why the language host has its own version: since v3.69.0 pulumi-language-nodejs is a
# separate, untagged Go module (sdk/nodejs/cmd/pulumi-language-nodejs/v3) and the module proxy
# we can reach serves none of its versions. Up to v3.68.0 the same program was the package
# sdk/v3/nodejs/cmd/pulumi-language-nodejs inside the sdk/v3 module, which is served, so we
# build it from there. It only spawns `node .../@pulumi/pulumi/cmd/run` from the program's own
# node_modules; the engine speaks to it through the stable language-host RPCs (the newer,
# optional ones answer "unimplemented" and the engine falls back). The Node.js SDK that runs
# the program is therefore still the pinned @pulumi/pulumi.
#
# Idempotent: a complete install is detected by its stamp file and left alone.
#
# Environment:
#   EXOFORM_CACHE               cache root (default $HOME/.cache/exoform)
#   EXOFORM_GO_BUILD_JOBS       `go build -p` (default 2)
#   EXOFORM_PULUMI_REINSTALL=1  rebuild even when the version is already installed
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)

# The Node.js language host: the last sdk/v3 release that still contained it (see above).
LANGHOST_SDK_VERSION=3.68.0

say() { echo "install-pulumi: $*" >&2; }
die() {
  echo "install-pulumi: error: $*" >&2
  exit 1
}

# ---- version pin ----
version_file="$here/pulumi-version"
[ -f "$version_file" ] || die "missing $version_file (one line with the Pulumi version, e.g. 3.259.0)"
VERSION=$(tr -d ' \t\r\n' <"$version_file")
[[ "$VERSION" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] ||
  die "$version_file must hold a plain version like 3.259.0, found '${VERSION}'"

# The CLI and the @pulumi/pulumi npm package must be the same release.
if [ -f "$root/package.json" ]; then
  npm_pin=$(sed -n 's/^[[:space:]]*"@pulumi\/pulumi"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' "$root/package.json" | head -1)
  if [ -n "$npm_pin" ] && [ "$npm_pin" != "$VERSION" ]; then
    say "warning: package.json pins @pulumi/pulumi $npm_pin but scripts/pulumi-version says $VERSION; keep them equal"
  fi
fi

CACHE=${EXOFORM_CACHE:-$HOME/.cache/exoform}
base="$CACHE/pulumi"
dest="$base/$VERSION"
bin="$dest/bin"
stamp="$dest/.exoform-install"
stamp_text="pulumi=$VERSION language-host-sdk=$LANGHOST_SDK_VERSION"

installed() {
  [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$stamp_text" ] &&
    [ -x "$bin/pulumi" ] && [ -x "$bin/pulumi-language-nodejs" ] && [ -x "$bin/pulumi-resource-pulumi-nodejs" ]
}

if installed && [ "${EXOFORM_PULUMI_REINSTALL:-0}" != 1 ]; then
  echo "pulumi $VERSION already in $bin"
  exit 0
fi

# ---- toolchain ----
GO=$(command -v go || true)
[ -n "$GO" ] || { [ -x /usr/local/go/bin/go ] && GO=/usr/local/go/bin/go; } ||
  die "the Go toolchain is needed to build the Pulumi CLI (go >= 1.25); install Go and put it on PATH"
go_ver=$("$GO" env GOVERSION 2>/dev/null) || die "'$GO env GOVERSION' failed; is the Go toolchain broken?"
say "building pulumi $VERSION with $go_ver (language host from sdk/v3 $LANGHOST_SDK_VERSION); this takes several minutes"

mkdir -p "$base" || die "cannot create $base"

# One installer per version at a time.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$base/.lock-$VERSION"
  flock 9 || die "cannot lock $base/.lock-$VERSION"
  if installed && [ "${EXOFORM_PULUMI_REINSTALL:-0}" != 1 ]; then
    echo "pulumi $VERSION already in $bin"
    exit 0
  fi
  # Holding the lock, leftovers of a killed earlier run can go.
  rm -rf "$base/.stage-$VERSION."* "$base/.old-$VERSION."*
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/exoform-pulumi-build.XXXXXX")
stage=$(mktemp -d "$base/.stage-$VERSION.XXXXXX") # same filesystem as $dest: mv is atomic
cleanup() { rm -rf "$work" "$stage"; }
trap cleanup EXIT

export GOWORK=off GOFLAGS="-mod=mod -buildvcs=false"
jobs=${EXOFORM_GO_BUILD_JOBS:-2}

# in_dir DIR CMD...: run CMD in DIR (call it in a subshell).
in_dir() {
  cd "$1" && shift && "$@"
}

# run LOGFILE STEP CMD...: run a command quietly; on failure show the log tail and stop.
run() {
  local log=$1 step=$2
  shift 2
  if ! ("$@") >"$log" 2>&1; then
    echo "install-pulumi: error: $step failed: $*" >&2
    tail -n 40 "$log" | sed 's/^/  | /' >&2
    exit 1
  fi
}

# Print the replace directives of a go.mod that point at other modules (not local paths), one
# "old[@ver]=new@ver" per line, ready for `go mod edit -replace`.
module_replaces() {
  awk '
    function emit(line,   n, nl, nr, parts, lhs, rhs, l) {
      sub(/\/\/.*/, "", line)
      n = split(line, parts, /=>/)
      if (n != 2) return
      nl = split(parts[1], lhs, " ")
      nr = split(parts[2], rhs, " ")
      if (nr != 2) return                    # a local path has no version: skip it
      l = lhs[1]; if (nl == 2) l = l "@" lhs[2]
      print l "=" rhs[1] "@" rhs[2]
    }
    /^replace[ \t]*\(/ { inblock = 1; next }
    inblock && /^\)/   { inblock = 0; next }
    inblock            { emit($0); next }
    /^replace[ \t]/    { sub(/^replace[ \t]+/, ""); emit($0) }
  ' "$1"
}

# gomod_of MODULE@VERSION: path of that module's go.mod in the module cache (downloads it).
gomod_of() {
  local out
  out=$(in_dir "$work" "$GO" mod download -json "$1" 2>&1) ||
    die "cannot download $1 from the Go module proxy:
$out"
  sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",*$/\1/p' <<<"$out" | head -1
}

# make_wrapper DIR MODULE PKG VERSION: a throwaway module that requires MODULE@VERSION (plus
# sdk/v3 at VERSION) and repeats MODULE's non-local replaces, with PKG's dependencies resolved.
make_wrapper() {
  local dir=$1 mod=$2 pkg=$3 ver=$4 gomod r m mods
  mods=("$mod")
  [ "$mod" = github.com/pulumi/pulumi/sdk/v3 ] || mods+=(github.com/pulumi/pulumi/sdk/v3)
  mkdir -p "$dir"
  printf 'module exoform.invalid/%s\n\ngo 1.18\n' "$(basename "$dir")" >"$dir/go.mod"
  for m in "${mods[@]}"; do
    (in_dir "$dir" "$GO" mod edit -require="$m@v$ver") || die "cannot write $dir/go.mod"
  done
  for m in "${mods[@]}"; do
    gomod=$(gomod_of "$m@v$ver")
    if [ -z "$gomod" ] || [ ! -f "$gomod" ]; then die "no go.mod for $m@v$ver in the module cache"; fi
    while IFS= read -r r; do
      [ -z "$r" ] || (in_dir "$dir" "$GO" mod edit -replace="$r") || die "go mod edit -replace=$r failed"
    done < <(module_replaces "$gomod")
  done
  run "$dir/get.log" "resolving $pkg@v$ver" in_dir "$dir" "$GO" get "$pkg@v$ver"
  # `go get` must not have moved the pinned modules.
  local got
  for m in "${mods[@]}"; do
    got=$(in_dir "$dir" "$GO" list -m -f '{{.Version}}' "$m") || die "go list -m $m failed in $dir"
    [ "$got" = "v$ver" ] || die "$m resolved to $got, expected v$ver"
  done
}

ldflags() { echo "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$1"; }

# ---- the CLI ----
make_wrapper "$work/cli" github.com/pulumi/pulumi/pkg/v3 github.com/pulumi/pulumi/pkg/v3/cmd/pulumi "$VERSION"
mkdir -p "$stage/bin"
start=$SECONDS
run "$work/cli/build.log" "go build of the pulumi CLI" in_dir "$work/cli" "$GO" build -trimpath -p "$jobs" \
  -ldflags "$(ldflags "$VERSION")" -o "$stage/bin/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
say "built pulumi in $((SECONDS - start))s"

# ---- the Node.js language host ----
langhost_pkg=github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs
make_wrapper "$work/langhost" github.com/pulumi/pulumi/sdk/v3 "$langhost_pkg" "$LANGHOST_SDK_VERSION"
start=$SECONDS
run "$work/langhost/build.log" "go build of pulumi-language-nodejs" in_dir "$work/langhost" "$GO" build -trimpath \
  -p "$jobs" -ldflags "$(ldflags "$LANGHOST_SDK_VERSION")" -o "$stage/bin/pulumi-language-nodejs" "$langhost_pkg"
say "built pulumi-language-nodejs in $((SECONDS - start))s"

# ---- the dynamic-provider launcher ----
cat >"$stage/bin/pulumi-resource-pulumi-nodejs" <<'EOF'
#!/bin/sh
# Pulumi dynamic-provider plugin: runs the provider shipped in the program's @pulumi/pulumi.
entry=$(node -e "console.log(require.resolve('@pulumi/pulumi/cmd/dynamic-provider'))") || {
  echo "pulumi-resource-pulumi-nodejs: cannot find @pulumi/pulumi from $(pwd); run npm install" >&2
  exit 1
}
exec node "$entry" "$@"
EOF
chmod 0755 "$stage/bin/pulumi-resource-pulumi-nodejs"

# ---- check, then install atomically ----
got=$(PULUMI_HOME="$work/pulumi-home" PULUMI_SKIP_UPDATE_CHECK=true "$stage/bin/pulumi" version 2>&1) || die "the freshly built pulumi does not run: $got"
[ "$got" = "v$VERSION" ] || die "the freshly built pulumi reports '$got', expected v$VERSION"
[ -x "$stage/bin/pulumi-language-nodejs" ] || die "pulumi-language-nodejs was not built"
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
say "installed pulumi $VERSION into $bin"
