# shellcheck shell=bash
# Sourced by every exoform entry point: where the toolchain lives and the Pulumi settings the
# project makes for itself. Safe to source twice; never prints.
EXOFORM_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
EXOFORM_CACHE=${EXOFORM_CACHE:-$HOME/.cache/exoform}
EXOFORM_NODE_VERSION=24.21.0
EXOFORM_PULUMI_VERSION=$(cat "$EXOFORM_ROOT/scripts/pulumi-version")
EXOFORM_NODE_DIR=$EXOFORM_CACHE/node/$EXOFORM_NODE_VERSION
EXOFORM_PULUMI_DIR=$EXOFORM_CACHE/pulumi/$EXOFORM_PULUMI_VERSION
EXOFORM_ACTIONLINT_VERSION=1.7.12
export EXOFORM_ROOT EXOFORM_CACHE EXOFORM_NODE_VERSION EXOFORM_PULUMI_VERSION EXOFORM_ACTIONLINT_VERSION

# Node: the cached official Node 24 binary when there is one (the bootstrap fetches it only
# when the system Node is older than 22), else the system's.
if [ -x "$EXOFORM_NODE_DIR/bin/node" ]; then
  case ":$PATH:" in *":$EXOFORM_NODE_DIR/bin:"*) ;; *) PATH="$EXOFORM_NODE_DIR/bin:$PATH" ;; esac
fi
# Pulumi: the CLI built into the cache when there is one (the bootstrap builds it only when no
# recent enough pulumi is on PATH), else the one on PATH.
if [ -x "$EXOFORM_PULUMI_DIR/bin/pulumi" ]; then
  case ":$PATH:" in *":$EXOFORM_PULUMI_DIR/bin:"*) ;; *) PATH="$EXOFORM_PULUMI_DIR/bin:$PATH" ;; esac
fi
if [ -x "$EXOFORM_CACHE/actionlint/$EXOFORM_ACTIONLINT_VERSION/bin/actionlint" ]; then
  case ":$PATH:" in *":$EXOFORM_CACHE/actionlint/$EXOFORM_ACTIONLINT_VERSION/bin:"*) ;; *) PATH="$EXOFORM_CACHE/actionlint/$EXOFORM_ACTIONLINT_VERSION/bin:$PATH" ;; esac
fi
PATH="$EXOFORM_ROOT/node_modules/.bin:$PATH"
export PATH

# Offline-friendly Pulumi: no update check, no plugin downloads, state on the local disk
# unless the user chose a backend, and a passphrase secrets provider.
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
export PULUMI_HOME=${PULUMI_HOME:-$EXOFORM_CACHE/pulumi-home}
export PULUMI_BACKEND_URL=${PULUMI_BACKEND_URL:-file://$EXOFORM_ROOT/.exoform/state}
if [ -z "${PULUMI_CONFIG_PASSPHRASE:-}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
  # Only good enough for the local stack, which holds no secrets. Cloud stacks hold tokens:
  # set your own passphrase for them (README).
  export PULUMI_CONFIG_PASSPHRASE=exoform-local-only
fi
