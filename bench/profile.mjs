// Where workerd spends its CPU on one subject: runs `perf record` on its workerd process while
// uploads of one image go through at concurrency 8 (16 of 5 MB, 128 of 100 KB, 32 of 1 MB), then
// prints perf's top symbols and shared objects.
// Usage: node bench/profile.mjs [subject, e.g. worker or "floor (bare)"] [png|jpeg] [5MB|1MB|100KB] [length|chunked|gzip]
// (PROFILE_COUNT=120 for more uploads, i.e. more samples)
import { execFileSync, spawn } from "node:child_process";
import { benchImages, SIZES } from "./images.mjs";
import { MODES, start } from "./lib.mjs";

const name = process.argv[2] ?? "worker";
const format = process.argv[3] ?? "png";
const label = process.argv[4] ?? "5MB";
const mode = process.argv[5] ?? "length";
const COUNT = Number(process.env.PROFILE_COUNT ?? ({ "100KB": 128, "1MB": 32, "5MB": 16 }[label] ?? 16));
const image = benchImages(SIZES.filter(([l]) => l === label)).find((i) => i.format === format);
const imagePath = `${MODES[mode]}/${image.name}`;
const { mf, pids, send } = await start(name, new Map([[`/${image.name}`, image.bytes]]));
for (let lane = 0; lane < 8; lane++) await send(imagePath, lane);
const perf = spawn("perf", ["record", "-q", "-F", "499", "-g", "-o", "/tmp/bench-perf.data", "-p", pids.join(",")], { stdio: "inherit" });
await new Promise((r) => setTimeout(r, 500));
let next = 0;
await Promise.all(Array.from({ length: 8 }, async (_, lane) => { while (next++ < COUNT) await send(imagePath, lane); }));
perf.kill("SIGINT");
await new Promise((r) => perf.on("exit", r));
await mf.dispose();
const report = execFileSync("perf", ["report", "-i", "/tmp/bench-perf.data", "--no-children", "--sort", "dso,sym", "--stdio"], { encoding: "utf8", maxBuffer: 1 << 26 });
console.log(report.split("\n").filter((l) => /^\s+\d+\.\d+%/.test(l)).slice(0, 30).join("\n"));
const dsos = execFileSync("perf", ["report", "-i", "/tmp/bench-perf.data", "--no-children", "--sort", "dso", "--stdio"], { encoding: "utf8" });
console.log(dsos.split("\n").filter((l) => /^\s+\d+\.\d+%/.test(l)).slice(0, 8).join("\n"));
