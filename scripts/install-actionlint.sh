#!/usr/bin/env bash
# Installs actionlint (the GitHub Actions workflow linter the tests run over .github/workflows/),
# built from its Go module, into ${EXOFORM_CACHE:-$HOME/.cache/exoform}/actionlint/<version>/bin/.
# Idempotent: an installed version is left alone. Built in a temporary GOBIN and moved into
# place, so an interrupted build never leaves a half-installed binary.
set -euo pipefail
VERSION=${EXOFORM_ACTIONLINT_VERSION:-1.7.12}
CACHE=${EXOFORM_CACHE:-$HOME/.cache/exoform}
dest="$CACHE/actionlint/$VERSION/bin"
if [ -x "$dest/actionlint" ]; then
  echo "actionlint $VERSION already in $dest"
  exit 0
fi
GO=$(command -v go || true)
[ -n "$GO" ] || { [ -x /usr/local/go/bin/go ] && GO=/usr/local/go/bin/go; } ||
  { echo "install-actionlint: error: the Go toolchain is needed to build actionlint" >&2; exit 1; }
echo "install-actionlint: building actionlint $VERSION" >&2
tmp=$(mktemp -d "$CACHE/.actionlint-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
GOBIN="$tmp" GOFLAGS=-mod=mod "$GO" install "github.com/rhysd/actionlint/cmd/actionlint@v$VERSION"
mkdir -p "$dest"
mv "$tmp/actionlint" "$dest/actionlint"
echo "actionlint $VERSION installed in $dest"
