#!/usr/bin/env bash
# Fuzz each target for SECONDS (default 60), two at a time; crashes land in fuzz/artifacts/.
# Usage: npm run fuzz [-- SECONDS [TARGET...]]
# The default build is cargo fuzz's: optimised, with debug assertions and overflow checks in
# every crate. FUZZ_DEBUG=1 builds unoptimised (cargo fuzz --dev), the profile `cargo test` uses.
source "$(dirname "$0")/toolchain.sh"
cd "$ROOT/fuzz"
SECONDS_PER_TARGET="${1:-60}"; shift || true
TARGETS=("${@:-png jpeg png_differential jpeg_differential destination request}")
read -r -a TARGETS <<< "${TARGETS[*]}"
if ! cargo fuzz --version >/dev/null 2>&1; then
  say "cargo install cargo-fuzz (once)"
  cargo install cargo-fuzz --locked
fi
rustup toolchain list | grep -q nightly || rustup toolchain install nightly --profile minimal
BUILD=()
RUN=()
# Unoptimised, the differential targets' decoders take seconds per multi-megabyte input (a debug
# jpeg_differential ran 3,359 inputs in 18 minutes): debug runs hunt assertion failures, which
# need no big inputs, so they cut every input to 64 KiB and decode at most 64 K pixels (a 64 KiB
# JPEG can declare 4 MP, which jpeg-decoder then fills).
if [ "${FUZZ_DEBUG:-}" = 1 ]; then
  BUILD=(--dev)
  RUN=(-max_len=65536)
  export FUZZ_MAX_PIXELS=65536
fi
for target in "${TARGETS[@]}"; do cargo +nightly fuzz build "${BUILD[@]}" "$target"; done
# Seed the image targets with the fixtures, minus the signature the target prepends
# (the first byte of an input is the split point).
seed() {
  local target=$1 pattern=$2 skip=$3
  mkdir -p "corpus/$target"
  [ -n "$(ls -A "corpus/$target")" ] && return
  for file in "$ROOT"/tests/fixtures/images/$pattern; do
    { printf '\x40'; tail -c +"$skip" "$file"; } > "corpus/$target/$(basename "$file")"
  done
}
seed png '*.png' 9
seed jpeg '*.jpg' 3
# The destination target reads "URL\nLocation": start from ports, private hosts and non-ASCII
# hosts (percent-escaped too), which once panicked a debug build.
mkdir -p corpus/destination
printf 'http://A%%C3%%A9.example/\n//\xc3\x89X.example/' > corpus/destination/seed-idn
printf 'https://img.example.com:8080/a.png\nhttps://img.example.com:22/' > corpus/destination/seed-ports
printf 'http://127.1/\nhttp://[::ffff:169.254.169.254]:80/' > corpus/destination/seed-private
# The differential targets start from the real-world corpus, minus the signature they prepend.
seed_corpus() {
  local target=$1 skip=$2; shift 2
  mkdir -p "corpus/$target"
  [ -n "$(ls -A "corpus/$target")" ] && return
  for file in "$@"; do
    tail -c +"$skip" "$file" > "corpus/$target/$(basename "$file")"
  done
}
shopt -s nullglob
seed_corpus png_differential 9 "$ROOT"/tests/corpus/*/*.png
seed_corpus jpeg_differential 3 "$ROOT"/tests/corpus/*/*.jpg "$ROOT"/tests/corpus/*/*.mpo
run() {
  mkdir -p "corpus/$1" artifacts
  cargo +nightly fuzz run "${BUILD[@]}" "$1" "corpus/$1" -- -max_total_time="$SECONDS_PER_TARGET" -print_final_stats=1 "${RUN[@]}" 2>&1 \
    | grep -E "stat::number_of_executed_units|stat::peak_rss|SUMMARY|ERROR|Done" | sed "s/^/[$1] /"
}
for ((i = 0; i < ${#TARGETS[@]}; i += 2)); do
  run "${TARGETS[i]}" &
  [ -n "${TARGETS[i+1]:-}" ] && run "${TARGETS[i+1]}" &
  wait
done
