#!/usr/bin/env bash
# Build the validators for wasm32 with the worker's release profile (bench/wasm) and time them
# in V8: `npm run bench:wasm`. Same dependency versions as the worker: Cargo.lock is copied.
source "$(dirname "$0")/../scripts/toolchain.sh"
cd "$ROOT/bench/wasm"
cp "$ROOT/Cargo.lock" Cargo.lock
CARGO_TARGET_DIR="$ROOT/target/wasm-bench" cargo build --release --target wasm32-unknown-unknown --quiet
node "$ROOT/bench/wasm.mjs"
