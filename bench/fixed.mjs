// Where a small upload's fixed cost goes: workerd CPU per request of floor-worker variants that
// each add one of the worker's per-request operations (bench/floor_worker.mjs `ops`), without an
// image and around a bare 100 KB upload, beside the worker itself. Each variant gets a fresh
// workerd, warm-up requests, then N requests at concurrency 8; variants alternate over rounds;
// medians. The difference to the variant's base is that operation's CPU.
// Usage: node bench/fixed.mjs [rounds] [requests]
import { benchImages } from "./images.mjs";
import { cpuMs, median, opsFloor, start, SUBJECTS } from "./lib.mjs";

const ROUNDS = Number(process.argv[2] ?? 3);
const COUNT = Number(process.argv[3] ?? 128);
const CONCURRENCY = 8;
const image = benchImages([["100KB", 100_000]]).find((i) => i.format === "png");
const served = new Map([[`/${image.name}`, image.bytes]]);

/** [name, subject, base name or null]: the base is what the name adds to. */
const VARIANTS = [
  ["request only (no image)", opsFloor([], false), null],
  ["+ KV: a bulk get of 2 keys, then 1", opsFloor(["kv"], false), "request only (no image)"],
  ["+ D1: select, update … returning", opsFloor(["d1"], false), "request only (no image)"],
  ["+ log line (console.log)", opsFloor(["log"], false), "request only (no image)"],
  ["bare 100 KB upload", SUBJECTS["floor (bare)"], null],
  ["bare + R2 delete of the previous object", opsFloor(["delete"]), "bare 100 KB upload"],
  ["bare + KV + D1 + delete + log", opsFloor(["kv", "d1", "delete", "log"]), "bare 100 KB upload"],
  ["worker", SUBJECTS.worker, "bare + KV + D1 + delete + log"],
];

async function measure(subject) {
  const { mf, pids, send } = await start(subject, served);
  try {
    for (let lane = 0; lane < CONCURRENCY; lane++) await send(`/${image.name}`, lane); // warm up
    let next = 0;
    const cpu0 = cpuMs(pids);
    await Promise.all(Array.from({ length: CONCURRENCY }, async (_, lane) => {
      while (next++ < COUNT) await send(`/${image.name}`, lane);
    }));
    return (cpuMs(pids) - cpu0) / COUNT;
  } finally {
    await mf.dispose();
  }
}

const runs = Object.fromEntries(VARIANTS.map(([name]) => [name, []]));
for (let round = 0; round < ROUNDS; round++) {
  const order = VARIANTS.map((_, i) => VARIANTS[(i + round) % VARIANTS.length]);
  for (const [name, subject] of order) runs[name].push(await measure(subject));
  console.error(`round ${round + 1}/${ROUNDS} done`);
}
console.log(`workerd CPU per request, ${COUNT} requests at c=${CONCURRENCY}, ${ROUNDS} rounds, medians (100 KB PNG where there is an image)`);
console.log("| variant | CPU ms/request | Δ over its base | rounds |\n|---|---|---|---|");
const cpu = Object.fromEntries(Object.entries(runs).map(([name, xs]) => [name, median(xs)]));
for (const [name, , base] of VARIANTS) {
  const delta = base ? `${(cpu[name] - cpu[base]).toFixed(2)} (over "${base}")` : "";
  console.log(`| ${name} | ${cpu[name].toFixed(2)} | ${delta} | ${runs[name].map((x) => x.toFixed(1)).join(", ")} |`);
}
