#!/usr/bin/env bash
# Build the worker to build/index.js + build/index_bg.wasm.
source "$(dirname "$0")/toolchain.sh"
cd "$ROOT"
worker-build --release
