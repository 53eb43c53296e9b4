#!/usr/bin/env bash
# Build the worker to build/index.js + build/index_bg.wasm.
source "$(dirname "$0")/toolchain.sh"
cd "$ROOT"
worker-build --release
# worker-build's own wasm-opt step is off (Cargo.toml): it always keeps the names section.
# Same feature set as worker-build passes (what workerd supports), optimised for size.
say "wasm-opt -Oz build/index_bg.wasm"
"$WASM_OPT_BIN" build/index_bg.wasm -o build/index_bg.wasm -Oz \
  --enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int --enable-bulk-memory \
  --enable-multivalue --enable-reference-types --enable-exception-handling
