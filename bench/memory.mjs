// Peak RSS growth of workerd while N concurrent uploads of a ~20 MiB image go through the
// worker (Miniflare, local R2), beside the pipe-only floor in the same run. Workers alternate
// over several rounds; medians are reported. Usage: node bench/memory.mjs [rounds] [concurrency]
import { png } from "./images.mjs";
import { MB, median, rssBytes, start } from "./lib.mjs";

const ROUNDS = Number(process.argv[2] ?? 3);
const CONCURRENCY = Number(process.argv[3] ?? 8);
// Pixel bytes; PNG framing adds ~0.03 %, so this stays just under the default MAX_IMAGE_BYTES.
const IMAGE_BYTES = 20 * 1024 * 1024 - 64 * 1024;
const NAMES = ["floor (bare)", "worker"];

const images = new Map([["/a.png", png(IMAGE_BYTES).bytes]]);

async function measure(name) {
  const { mf, pids, send } = await start(name, images);
  await send("/a.png", 0); // warm up: compile, first allocations
  await new Promise((r) => setTimeout(r, 300));
  const baseline = rssBytes(pids);
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, rssBytes(pids))), 5);
  const started = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, (_, lane) => send("/a.png", lane)));
  const elapsed = performance.now() - started;
  clearInterval(sampler);
  await mf.dispose();
  return { growth: peak - baseline, elapsed };
}

const results = Object.fromEntries(NAMES.map((k) => [k, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const name of NAMES) results[name].push(await measure(name));
}
console.log(`${CONCURRENCY} concurrent uploads of ${(images.get("/a.png").length / MB).toFixed(1)} MB, ${ROUNDS} rounds, medians`);
const floor = median(results["floor (bare)"].map((r) => r.growth));
for (const [name, runs] of Object.entries(results)) {
  const growth = median(runs.map((r) => r.growth));
  const elapsed = median(runs.map((r) => r.elapsed));
  console.log(
    `${name.padEnd(24)} peak workerd RSS growth ${(growth / MB).toFixed(1).padStart(6)} MB` +
      `  (${(growth / Math.max(floor, 1)).toFixed(2)}x floor)  wall ${elapsed.toFixed(0)} ms` +
      `  rounds: ${runs.map((r) => (r.growth / MB).toFixed(0)).join(", ")} MB`,
  );
}
const worker = median(results.worker.map((r) => r.growth));
console.log(`target: worker growth < 100 MB -> ${worker < 100 * MB ? "met" : "MISSED"}`);
