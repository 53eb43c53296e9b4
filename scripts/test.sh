#!/usr/bin/env bash
# Every test: the pure core natively (cargo test), then the built worker in Miniflare.
source "$(dirname "$0")/toolchain.sh"
source "$(dirname "$0")/browser.sh"
cd "$ROOT"
say "cargo test (pure core on the host)"
cargo test --release --lib
say "building the worker"
bash scripts/build.sh
say "integration tests (Miniflare: real local KV, D1, R2)"
node --test --test-concurrency=1 tests/integration/
