#!/usr/bin/env bash
# Run a command with exoform's toolchain: bootstrap first (idempotent, quiet when there is
# nothing to do), then the cached Node 24 and Pulumi CLI first on PATH.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
EXOFORM_BOOTSTRAP_QUIET=1 bash "$here/bootstrap.sh"
# shellcheck source=scripts/env.sh
. "$here/env.sh"
exec "$@"
