#!/usr/bin/env bash
# Build the worker to build/index.js + build/index_bg.wasm.
source "$(dirname "$0")/toolchain.sh"
cd "$ROOT"
# Skipped when nothing it reads has changed since the last build: wrangler dev builds twice on
# start (once for its entry, once when its watcher is ready), and npm test and every benchmark
# build again. The inputs: the sources, the manifests and lockfiles (crates, and the npm packages
# that bring wasm-opt and esbuild), the cargo config, these scripts (tool versions), rustc and
# the environment cargo reads. FORCE_BUILD=1 builds anyway.
inputs="$( { rustc -V; printf '%s\n' "${RUSTFLAGS:-}"; env | grep '^CARGO_' | sort || true
  find src shim assets .cargo Cargo.toml Cargo.lock package-lock.json scripts/build.sh scripts/toolchain.sh \
    -type f -print0 | sort -z | xargs -0 sha256sum; } | sha256sum | cut -d' ' -f1)"
if [[ -z "${FORCE_BUILD:-}" && -f build/index.js && -f build/index_bg.wasm && "$(cat build/.inputs 2>/dev/null)" == "$inputs" ]]; then
  say "build/ is up to date with src/ (FORCE_BUILD=1 to build anyway)"
  exit 0
fi
rm -f build/.inputs
worker-build --release
# worker-build's own wasm-opt step is off (Cargo.toml): it always keeps the names section.
# Same feature set as worker-build passes (what workerd supports), optimised for size.
say "wasm-opt -Oz build/index_bg.wasm"
"$WASM_OPT_BIN" build/index_bg.wasm -o build/index_bg.wasm -Oz \
  --enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int --enable-bulk-memory \
  --enable-multivalue --enable-reference-types --enable-exception-handling
echo "$inputs" > build/.inputs
