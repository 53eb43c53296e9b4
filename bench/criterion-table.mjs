// Summarises the last `cargo bench --bench validators` run (target/criterion/*/*/*/new/) as a
// table of MB/s (decimal, from the median time per iteration), one row per format and size.
// Usage: node bench/criterion-table.mjs
import { existsSync, readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const DIR = path.join(ROOT, "target", "criterion");
const FUNCTIONS = ["copy", "validator"];
const SIZES = ["100KB", "1MB", "5MB", "20MB"];

const rows = [];
for (const format of ["png", "jpeg"]) {
  for (const size of SIZES) {
    const cells = FUNCTIONS.map((fn) => {
      const dir = path.join(DIR, format, fn, size, "new");
      if (!existsSync(dir)) return "-";
      const bytes = JSON.parse(readFileSync(path.join(dir, "benchmark.json"), "utf8")).throughput.BytesDecimal;
      const ns = JSON.parse(readFileSync(path.join(dir, "estimates.json"), "utf8")).median.point_estimate;
      return ((bytes / ns) * 1000).toFixed(0); // bytes/ns = GB/s; ×1000 = MB/s
    });
    if (cells.some((c) => c !== "-")) rows.push([format, size, ...cells]);
  }
}
if (!rows.length) {
  console.error(`no results under ${DIR} (${existsSync(DIR) ? readdirSync(DIR).join(", ") : "missing"}): run cargo bench --bench validators`);
  process.exit(1);
}
const header = ["format", "size", ...FUNCTIONS.map((f) => `${f} MB/s`)];
console.log(`| ${header.join(" | ")} |\n|${header.map(() => "---").join("|")}|`);
for (const row of rows) console.log(`| ${row.join(" | ")} |`);
