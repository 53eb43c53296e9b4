// Where workerd spends its CPU on one subject: runs `perf record` on its workerd process while
// uploads of one image go through at concurrency 8 (16 of 5 MB, 128 of 100 KB, 32 of 1 MB), then
// prints perf's top symbols and shared objects.
// Usage: node bench/profile.mjs [subject, e.g. worker or "floor (bare)"] [png|jpeg] [5MB|1MB|100KB] [length|chunked|gzip]
// (PROFILE_COUNT=120 for more uploads, i.e. more samples)
//
// `node bench/profile.mjs diff [png|jpeg] [size] [mode]` profiles the worker and then the bare
// floor the same way, classes every sample by the workerd frames on its stack (the hash, BYOB
// reads, binding calls, JS and wasm, …) and prints ms per upload for both and their difference:
// where the worker's CPU over the floor goes (BENCHMARKS.md).
import { execFileSync, spawn } from "node:child_process";
import { benchImages, SIZES } from "./images.mjs";
import { MODES, start } from "./lib.mjs";

const HZ = 499;
const diff = process.argv[2] === "diff";
const args = diff ? ["worker", ...process.argv.slice(3)] : process.argv.slice(2);
const [name = "worker", format = "png", label = "5MB", mode = "length"] = args;
const COUNT = Number(process.env.PROFILE_COUNT ?? ({ "100KB": 128, "1MB": 32, "5MB": 16 }[label] ?? 16));
const image = benchImages(SIZES.filter(([l]) => l === label)).find((i) => i.format === format);
const imagePath = `${MODES[mode]}/${image.name}`;

/** Records `subject`'s workerd during COUNT uploads at c=8 into the perf data file `out`. */
async function record(subject, out) {
  const { mf, pids, send } = await start(subject, new Map([[`/${image.name}`, image.bytes]]));
  for (let lane = 0; lane < 8; lane++) await send(imagePath, lane);
  const perf = spawn("perf", ["record", "-q", "-F", String(HZ), "-g", "-o", out, "-p", pids.join(",")], { stdio: "inherit" });
  await new Promise((r) => setTimeout(r, 500));
  let next = 0;
  await Promise.all(Array.from({ length: 8 }, async (_, lane) => { while (next++ < COUNT) await send(imagePath, lane); }));
  perf.kill("SIGINT");
  await new Promise((r) => perf.on("exit", r));
  await mf.dispose();
}

/** The class of one sample, from its stack (leaf first): the first rule that matches. */
const CLASSES = [
  ["SHA-256 (node:crypto)", (stack) => stack.some((f) => f.includes("HashContext"))],
  ["R2 simulator's MD5", (stack) => stack[0].includes("md5_block")],
  ["BYOB reads", (stack) => stack.some((f) => f.includes("ReadableStreamInternalController::read")) && !stack.some((f) => f.includes("PipeLocked"))],
  ["binding calls (workerd's side)", (stack) => stack.some((f) => /R2Bucket|SqlStorage|DurableObjectStorage|KvNamespace/.test(f))],
  ["new ArrayBuffers (zeroing, page faults)", (stack) => stack.some((f) => /BackingStore::Allocate|ArrayBufferConstructor/.test(f))],
  ["JS and wasm, and what they call", (stack) => stack.includes("[jit]")],
  ["GC", (stack) => /Mark|Sweep|Scaveng|Evacuat|RememberedSet|cppgc/.test(stack[0])],
  ["everything else", () => true],
];

/** ms per upload in each class of a perf data file. */
function classes(file) {
  const text = execFileSync("perf", ["script", "-i", file], { encoding: "utf8", maxBuffer: 1 << 30, stdio: ["ignore", "pipe", "ignore"] });
  const ms = Object.fromEntries(CLASSES.map(([c]) => [c, 0]));
  for (const sample of text.split("\n\n")) {
    const stack = sample.split("\n").slice(1).map((line) => /^\s*[0-9a-f]+ (.*?)\+0x[0-9a-f]+ \(/.exec(line)?.[1] ?? "[jit]");
    if (!stack.length) continue;
    ms[CLASSES.find(([, test]) => test(stack))[0]] += 1000 / HZ / COUNT;
  }
  return ms;
}

if (diff) {
  const files = { worker: "/tmp/bench-perf-worker.data", "floor (bare)": "/tmp/bench-perf-bare.data" };
  for (const [subject, file] of Object.entries(files)) await record(subject, file);
  const [worker, bare] = Object.values(files).map(classes);
  const total = (ms) => Object.values(ms).reduce((a, b) => a + b, 0);
  console.log(`${COUNT} uploads of ${image.name} (${mode}) at c=8, ms per upload under perf\n`);
  console.log("| where | worker | bare | difference |\n|---|---|---|---|");
  const rows = Object.keys(worker).sort((a, b) => bare[a] - worker[a] - (bare[b] - worker[b]));
  for (const c of rows) console.log(`| ${c} | ${worker[c].toFixed(2)} | ${bare[c].toFixed(2)} | ${(worker[c] - bare[c]).toFixed(2)} |`);
  console.log(`| all | ${total(worker).toFixed(1)} | ${total(bare).toFixed(1)} | ${(total(worker) - total(bare)).toFixed(1)} |`);
} else {
  await record(name, "/tmp/bench-perf.data");
  const report = execFileSync("perf", ["report", "-i", "/tmp/bench-perf.data", "--no-children", "--sort", "dso,sym", "--stdio"], { encoding: "utf8", maxBuffer: 1 << 26 });
  console.log(report.split("\n").filter((l) => /^\s+\d+\.\d+%/.test(l)).slice(0, 30).join("\n"));
  const dsos = execFileSync("perf", ["report", "-i", "/tmp/bench-perf.data", "--no-children", "--sort", "dso", "--stdio"], { encoding: "utf8" });
  console.log(dsos.split("\n").filter((l) => /^\s+\d+\.\d+%/.test(l)).slice(0, 8).join("\n"));
}
