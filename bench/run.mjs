// `npm run bench`: the built worker against three floor workers, in workerd (Miniflare) with real
// local KV, D1 and R2, uploading deterministic PNG and JPEG images of about 100 KB, 1 MB, 5 MB
// and 20 MB from a local origin, at concurrency 1 and 8. Per size, format and concurrency it
// prints uploads/s, p50/p99 latency, workerd CPU ms per upload and per MB (/proc/<pid>/stat),
// peak RSS (VmHWM), each also as a ratio to the floors (CPU also as the difference per MB),
// then the wasm size raw and gzipped and the targets. The floors: bare (origin → R2),
// pass-through (+ an identity TransformStream, what the targets are set against) and
// pass-through + copy (+ the R2 copy that §4's sha256 metadata forces on a streamed upload).
//
// Every (size, format, subject) gets a fresh workerd, so its peak RSS is its own; subjects
// alternate in a rotating order, several rounds; medians over rounds are reported.
// Usage: node bench/run.mjs [rounds]   (BENCH_SIZES=5MB,20MB to run only some sizes)
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { benchImages, SIZES } from "./images.mjs";
import { cpuMs, MB, median, peakRssBytes, percentile, ROOT, rssBytes, start, SUBJECTS } from "./lib.mjs";

const ROUNDS = Number(process.argv[2] ?? 3);
const ONLY = process.env.BENCH_SIZES?.split(",");
const CONCURRENCY = [1, 8];
/** Uploads per (size, format, subject, concurrency) in one round. */
const UPLOADS = { "100KB": { 1: 24, 8: 64 }, "1MB": { 1: 12, 8: 32 }, "5MB": { 1: 4, 8: 16 }, "20MB": { 1: 2, 8: 8 } };
const NAMES = Object.keys(SUBJECTS);
const [WORKER, BARE, PASS, COPY] = NAMES;
const OUT = path.join(ROOT, "bench", "out");

const images = benchImages(SIZES.filter(([label]) => !ONLY || ONLY.includes(label)));
mkdirSync(OUT, { recursive: true });
for (const image of images) writeFileSync(path.join(OUT, image.name), image.bytes);
const served = new Map(images.map((image) => [`/${image.name}`, image.bytes]));

/** `count` uploads of `imagePath`, `concurrency` lanes pulling from one queue. */
async function drive(send, imagePath, concurrency, count) {
  const latencies = [];
  let next = 0;
  const lane = async (id) => {
    while (next < count) {
      next++;
      latencies.push(await send(imagePath, id));
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, (_, id) => lane(id)));
  return { latencies, wall: performance.now() - started };
}

async function measure(name, image) {
  const { mf, pids, send } = await start(name, served);
  const imagePath = `/${image.name}`;
  try {
    for (let lane = 0; lane < 2; lane++) await send(imagePath, lane); // warm up: compile, first allocations
    const baseline = rssBytes(pids);
    const out = {};
    for (const concurrency of CONCURRENCY) {
      const count = UPLOADS[image.label][concurrency];
      const cpu0 = cpuMs(pids);
      const { latencies, wall } = await drive(send, imagePath, concurrency, count);
      const cpu = (cpuMs(pids) - cpu0) / count;
      out[concurrency] = {
        perSecond: (count / wall) * 1000,
        p50: percentile(latencies, 50),
        p99: percentile(latencies, 99),
        cpu,
        cpuPerMB: cpu / (image.bytes.length / MB),
        peakRss: peakRssBytes(pids),
        baselineRss: baseline,
      };
    }
    return out;
  } finally {
    await mf.dispose();
  }
}

const results = {}; // key "label format concurrency" → name → [round results]
const t0 = performance.now();
for (let round = 0; round < ROUNDS; round++) {
  for (const image of images) {
    // Rotate the order every round so that no subject always runs first or last.
    const order = NAMES.map((_, i) => NAMES[(i + round) % NAMES.length]);
    for (const name of order) {
      const measured = await measure(name, image);
      for (const concurrency of CONCURRENCY) {
        const key = `${image.label} ${image.format} ${concurrency}`;
        ((results[key] ??= {})[name] ??= []).push(measured[concurrency]);
      }
    }
  }
  console.error(`round ${round + 1}/${ROUNDS} done after ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}

const med = (runs, field) => median(runs.map((r) => r[field]));
const fmt = (v, digits = 1) => (v >= 100 ? v.toFixed(0) : v.toFixed(digits));
const ratio = (v, floors) => `${fmt(v)} (${floors.map((f) => (v / f).toFixed(2)).join("/")})`;

const summary = {};
console.log(`\n${ROUNDS} rounds, medians. Ratios in parentheses: ×bare / ×pass-through / ×pass-through+copy floor; ΔCPU/MB: ms/MB over each.`);
console.log("| size | format | c | subject | uploads/s | p50 ms | p99 ms | CPU ms/upload | CPU ms/MB | ΔCPU/MB | peak RSS MB |");
console.log("|---|---|---|---|---|---|---|---|---|---|---|");
for (const [key, bySubject] of Object.entries(results)) {
  const [label, format, concurrency] = key.split(" ");
  const floors = (field) => [BARE, PASS, COPY].map((floor) => med(bySubject[floor], field));
  for (const name of NAMES) {
    const runs = bySubject[name];
    const row = Object.fromEntries(["perSecond", "p50", "p99", "cpu", "cpuPerMB", "peakRss"].map((f) => [f, med(runs, f)]));
    [row.cpuOverBare, row.cpuOverPass, row.cpuOverCopy] = floors("cpuPerMB").map((floor) => row.cpuPerMB - floor);
    (summary[key] ??= {})[name] = row;
    console.log(
      `| ${label} | ${format} | ${concurrency} | ${name} | ${ratio(row.perSecond, floors("perSecond"))} | ${ratio(row.p50, floors("p50"))}` +
        ` | ${ratio(row.p99, floors("p99"))} | ${ratio(row.cpu, floors("cpu"))} | ${ratio(row.cpuPerMB, floors("cpuPerMB"))}` +
        ` | ${[row.cpuOverBare, row.cpuOverPass, row.cpuOverCopy].map((d) => d.toFixed(1)).join(" / ")} | ${ratio(row.peakRss / MB, floors("peakRss").map((b) => b / MB))} |`,
    );
  }
}

const wasm = readFileSync(path.join(ROOT, "build", "index_bg.wasm"));
const gz = gzipSync(wasm, { level: 9 }).length;
console.log(`\nwasm: build/index_bg.wasm ${(wasm.length / 1024).toFixed(1)} KiB raw, ${(gz / 1000).toFixed(1)} KB gzipped (-9)`);

const verdict = (ok) => (ok ? "met" : "MISSED");
console.log("\ntargets:");
console.log(`  wasm ≤ 200 KB gzipped: ${(gz / 1000).toFixed(1)} KB -> ${verdict(gz <= 200_000)}`);
for (const format of ["png", "jpeg"]) {
  const s = summary[`5MB ${format} 8`];
  if (!s) continue;
  const worker = s[WORKER];
  const pass = s[PASS];
  console.log(
    `  5MB ${format} c8 CPU/MB ≤ pass-through + 3: ${worker.cpuPerMB.toFixed(1)} vs ${pass.cpuPerMB.toFixed(1)} (+${worker.cpuOverPass.toFixed(1)}) -> ${verdict(worker.cpuOverPass <= 3)}`,
  );
  console.log(`  5MB ${format} c8 p50 ≤ 1.2× pass-through: ${worker.p50.toFixed(0)} vs ${pass.p50.toFixed(0)} ms (${(worker.p50 / pass.p50).toFixed(2)}×) -> ${verdict(worker.p50 <= 1.2 * pass.p50)}`);
  const copy = s[COPY];
  console.log(
    `    (beside the pass-through + copy floor: CPU/MB ${copy.cpuPerMB.toFixed(1)} (${worker.cpuOverCopy >= 0 ? "+" : ""}${worker.cpuOverCopy.toFixed(1)}),` +
      ` p50 ${copy.p50.toFixed(0)} ms (${(worker.p50 / copy.p50).toFixed(2)}×))`,
  );
}
writeFileSync(path.join(OUT, "results.json"), JSON.stringify({ rounds: ROUNDS, wasm: { raw: wasm.length, gzip: gz }, summary, runs: results }, null, 1));
console.log(`\nraw results: bench/out/results.json; total ${((performance.now() - t0) / 1000).toFixed(0)} s`);
