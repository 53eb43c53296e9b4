// Where workerd spends its CPU on one subject: runs `perf record` on its workerd process while
// 16 uploads of the 5 MB image go through at concurrency 8, then prints perf's top symbols.
// Usage: node bench/profile.mjs [worker|"floor (bare)"|"floor (pass-through)"] [png|jpeg]
import { execFileSync, spawn } from "node:child_process";
import { benchImages } from "./images.mjs";
import { start } from "./lib.mjs";

const name = process.argv[2] ?? "worker";
const format = process.argv[3] ?? "png";
const image = benchImages([["5MB", 5_000_000]]).find((i) => i.format === format);
const { mf, pids, send } = await start(name, new Map([[`/${image.name}`, image.bytes]]));
for (let lane = 0; lane < 2; lane++) await send(`/${image.name}`, lane);
const perf = spawn("perf", ["record", "-q", "-F", "499", "-g", "-o", "/tmp/bench-perf.data", "-p", pids.join(",")], { stdio: "inherit" });
await new Promise((r) => setTimeout(r, 500));
let next = 0;
await Promise.all(Array.from({ length: 8 }, async (_, lane) => { while (next++ < 16) await send(`/${image.name}`, lane); }));
perf.kill("SIGINT");
await new Promise((r) => perf.on("exit", r));
await mf.dispose();
const report = execFileSync("perf", ["report", "-i", "/tmp/bench-perf.data", "--no-children", "--sort", "dso,sym", "--stdio"], { encoding: "utf8", maxBuffer: 1 << 26 });
console.log(report.split("\n").filter((l) => /^\s+\d+\.\d+%/.test(l)).slice(0, 30).join("\n"));
const dsos = execFileSync("perf", ["report", "-i", "/tmp/bench-perf.data", "--no-children", "--sort", "dso", "--stdio"], { encoding: "utf8" });
console.log(dsos.split("\n").filter((l) => /^\s+\d+\.\d+%/.test(l)).slice(0, 8).join("\n"));
