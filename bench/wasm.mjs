// Throughput of the validators compiled to wasm32 (bench/wasm, the worker's release profile),
// run in Node's V8 — the engine inside workerd — over the bench images pushed in 64 KiB chunks:
// chunked copy, validator and sha256 alone, in MB/s.
// Usage: node bench/wasm.mjs [path/to/validators_wasm_bench.wasm]   (build: bench/wasm.sh)
import { readFileSync } from "node:fs";
import path from "node:path";
import { benchImages } from "./images.mjs";
import { median, ROOT } from "./stats.mjs";

const FILE = process.argv[2] ?? path.join(ROOT, "target/wasm-bench/wasm32-unknown-unknown/release/validators_wasm_bench.wasm");
const FUNCTIONS = ["copy", "validate", "sha256"];

// The worker crate's wasm-bindgen imports are never called by these exports: stub them all.
const stub = new Proxy({}, { get: (_, name) => () => { throw new Error(`unexpected import ${String(name)}`); } });
const module = await WebAssembly.compile(readFileSync(FILE));
const imports = Object.fromEntries(WebAssembly.Module.imports(module).map(({ module: m }) => [m, stub]));
const { exports } = await WebAssembly.instantiate(module, imports);

/** MB/s of `fn` over `bytes`: repeated until ~0.4 s have passed (at least 3 times), median. */
function time(fn, bytes) {
  const samples = [];
  const until = performance.now() + 400;
  while (samples.length < 3 || performance.now() < until) {
    const started = performance.now();
    const result = exports[fn]();
    const ms = performance.now() - started;
    if (fn === "validate" && result === 0) throw new Error(`${fn} rejected the image`);
    samples.push(bytes / 1e6 / (ms / 1000));
  }
  return median(samples);
}

console.log(`| format | size | ${FUNCTIONS.map((f) => `${f} MB/s`).join(" | ")} |\n|---|---|${FUNCTIONS.map(() => "---").join("|")}|`);
for (const image of benchImages()) {
  const address = exports.buffer(image.bytes.length);
  new Uint8Array(exports.memory.buffer, address, image.bytes.length).set(image.bytes);
  for (const fn of FUNCTIONS) time(fn, image.bytes.length); // warm up (tier-up)
  const cells = FUNCTIONS.map((fn) => time(fn, image.bytes.length).toFixed(0));
  console.log(`| ${image.format} | ${image.label} | ${cells.join(" | ")} |`);
}
