// Peak RSS growth of workerd while N concurrent uploads of a ~20 MiB image go through the
// worker (Miniflare, local R2), beside the bare floor in the same run, for each way the origin
// can send it: with a Content-Length, chunked without one, and gzip-encoded (decoded by the
// runtime to ~20 MiB, so of unknown length). Subjects alternate over several rounds; medians
// are reported. Also the worker's wasm linear memory (its request-log field `wasm_memory_bytes`)
// after as many concurrent 4 MiB uploads and after the 20 MiB ones: it must not grow with the
// image's size.
// The same images also go through as direct uploads (API.md §7: the request body is the image),
// beside a bare floor given the body the same way ("floor (direct)": where the runtime's own
// handling of a large incoming request body shows),
// with a Content-Length and streamed without one.
// Usage: node bench/memory.mjs [rounds] [concurrency]   (BENCH_MODES=chunked,gzip for some modes)
import { png } from "./images.mjs";
import { MB, median, MODES, rssBytes, start } from "./lib.mjs";

const ROUNDS = Number(process.argv[2] ?? 3);
const CONCURRENCY = Number(process.argv[3] ?? 8);
const TARGET = 64 * MB;
// Pixel bytes; PNG framing adds ~0.03 %, so this stays just under the default MAX_IMAGE_BYTES.
const IMAGE_BYTES = 20 * 1024 * 1024 - 64 * 1024;
const WORKERS = ["worker", "worker (direct)"];
/** Subjects per mode: a client sends no gzip-encoded direct upload. */
const names = (mode) => ["floor (bare)", "worker", ...(mode === "gzip" ? [] : ["floor (direct)", "worker (direct)"])];
const modes = Object.keys(MODES).filter((mode) => !process.env.BENCH_MODES || process.env.BENCH_MODES.split(",").includes(mode));

const images = new Map([
  ["/a.png", png(IMAGE_BYTES).bytes],
  ["/small.png", png(4 * 1024 * 1024, "small").bytes],
]);

async function measure(name, mode) {
  const { mf, pids, send, wasmMemory } = await start(name, images);
  const prefix = MODES[mode];
  // As many uploads at once as the large ones below, each long enough (several pieces) to be in
  // flight together: the wasm memory grows with the uploads in flight (a piece buffer each),
  // which must not be mistaken for growth with the image's size.
  await Promise.all(Array.from({ length: CONCURRENCY }, (_, lane) => send(`${prefix}/small.png`, lane)));
  const settle = () => new Promise((r) => setTimeout(r, 300)); // log lines arrive through workerd's stdout
  await settle();
  const wasmSmall = wasmMemory();
  await send(`${prefix}/a.png`, 0); // warm up: compile, first allocations
  await settle();
  const baseline = rssBytes(pids);
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, rssBytes(pids))), 5);
  const started = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, (_, lane) => send(`${prefix}/a.png`, lane)));
  const elapsed = performance.now() - started;
  clearInterval(sampler);
  await settle();
  const wasmLarge = wasmMemory();
  await mf.dispose();
  return { growth: peak - baseline, elapsed, wasmSmall, wasmLarge };
}

const results = {}; // mode → name → [runs]
for (let round = 0; round < ROUNDS; round++) {
  for (const mode of modes) {
    const order = round % 2 ? names(mode).reverse() : names(mode);
    for (const name of order) ((results[mode] ??= {})[name] ??= []).push(await measure(name, mode));
  }
  console.error(`round ${round + 1}/${ROUNDS} done`);
}

const mib = (bytes) => (bytes / 2 ** 20).toFixed(2);
console.log(`${CONCURRENCY} concurrent uploads of ${(images.get("/a.png").length / MB).toFixed(1)} MB, ${ROUNDS} rounds, medians`);
const verdicts = [];
for (const mode of modes) {
  const floor = median(results[mode]["floor (bare)"].map((r) => r.growth));
  for (const [name, runs] of Object.entries(results[mode])) {
    const growth = median(runs.map((r) => r.growth));
    const elapsed = median(runs.map((r) => r.elapsed));
    const wasm = WORKERS.includes(name)
      ? `  wasm memory ${mib(Math.max(...runs.map((r) => r.wasmSmall)))} MiB after 4 MiB, ${mib(Math.max(...runs.map((r) => r.wasmLarge)))} MiB after 20 MiB`
      : "";
    console.log(
      `${mode.padEnd(8)} ${name.padEnd(15)} peak workerd RSS growth ${(growth / MB).toFixed(1).padStart(6)} MB` +
        `  (${(growth / Math.max(floor, 1)).toFixed(2)}x floor)  wall ${elapsed.toFixed(0)} ms` +
        `  rounds: ${runs.map((r) => (r.growth / MB).toFixed(0)).join(", ")} MB${wasm}`,
    );
    if (WORKERS.includes(name)) {
      // Which uploads overlap, and so how many piece buffers are live at once, varies with
      // timing by a few 64 KiB pages; growing with the image would take megabytes per upload.
      const grown = Math.max(...runs.map((r) => r.wasmLarge - r.wasmSmall));
      const flat = grown < 2 ** 20;
      verdicts.push(
        `  ${mode}: ${name} growth < 64 MB: ${(growth / MB).toFixed(1)} MB -> ${growth < TARGET ? "met" : "MISSED"}; ` +
          `wasm memory ${flat ? "did not grow" : "GREW"} with image size (+${mib(grown)} MiB from 4 to 20 MiB images)`,
      );
    }
  }
}
console.log(`targets:\n${verdicts.join("\n")}`);
