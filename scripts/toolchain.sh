# Sourced by the other scripts: installs what a fresh machine lacks (fast no-op when present)
# and points worker-build at local tools instead of its GitHub downloads (TOOLCHAIN.md).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$HOME/.cargo/bin:$PATH"
export WRANGLER_SEND_METRICS=false

WORKER_BUILD_VERSION=0.8.7

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

if [ ! -x "$ROOT/node_modules/.bin/wrangler" ] || [ "$ROOT/package-lock.json" -nt "$ROOT/node_modules/.package-lock.json" ]; then
  say "npm ci"
  (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error)
fi

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  say "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

if [ "$(worker-build --version 2>/dev/null | awk '{print $NF}')" != "$WORKER_BUILD_VERSION" ]; then
  say "cargo install worker-build@$WORKER_BUILD_VERSION (a few minutes, once)"
  cargo install worker-build@"$WORKER_BUILD_VERSION" --locked --force
fi

# The CLI must be exactly the version Cargo.lock pins for the wasm-bindgen crate.
WASM_BINDGEN_VERSION="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print }' "$ROOT/Cargo.lock")"
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $NF}')" != "$WASM_BINDGEN_VERSION" ]; then
  say "cargo install wasm-bindgen-cli@$WASM_BINDGEN_VERSION (about 10 minutes, once)"
  # Not --locked: its lockfile pins a webpki-roots release the registry no longer serves.
  cargo install wasm-bindgen-cli@"$WASM_BINDGEN_VERSION" --force
fi

export WASM_BINDGEN_BIN="$(command -v wasm-bindgen)"
export WASM_OPT_BIN="$ROOT/node_modules/.bin/wasm-opt"
export ESBUILD_BIN="$ROOT/node_modules/.bin/esbuild"
