// Computes the expected verdict of every file in tests/corpus/MANIFEST.tsv from real decoders and
// writes it back (columns verdict, width, height). Run by hand after adding files; NOT part of
// `npm test` (it needs Chromium and Pillow; the native test only reads the manifest).
//
//   pip install pillow==13.0.0 && apt-get install netpbm && node scripts/corpus_verdicts.mjs [MANIFEST]
//
// "displayable" = headless Chromium decodes it in full (img.decode() plus a canvas read) AND
// Pillow decodes it in full without tolerating truncation (LOAD_TRUNCATED_IMAGES = False,
// im.load()) AND, for a PNG, libpng decodes it (netpbm's pngtopnm): Chromium's PNG decoder is no
// longer libpng, and Firefox's and every libpng-based viewer's verdict counts too (API.md §5
// names libpng). A JPEG needs no third decoder: Chromium's is libjpeg-turbo. Chromium shows a truncated file partially without complaint, so Pillow's strictness
// is what catches truncation; the two must also agree on the dimensions (Chromium reports them
// after EXIF rotation, so a swap is agreement; the manifest keeps the stored ones).
// One deliberate exception, from the contract (shared/API.md §5): a PNG whose chunk CRC is wrong
// is refused even where the decoders show it (Chromium ignores CRCs, Pillow skips IDAT's):
// verdict "bad-crc".
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const MANIFEST = path.resolve(process.argv[2] || path.join(ROOT, "tests", "corpus", "MANIFEST.tsv"));
const CORPUS = path.dirname(MANIFEST);
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
  "--disable-component-update", "--no-first-run",
];
const COLUMNS = ["file", "source", "version", "licence", "verdict", "width", "height", "kind"];

const PILLOW = String.raw`
import json, struct, sys, warnings, zlib
from PIL import Image, ImageFile
ImageFile.LOAD_TRUNCATED_IMAGES = False
Image.MAX_IMAGE_PIXELS = None  # size limits are the worker's business, not the decoder's
warnings.simplefilter("ignore")
def png_crcs_ok(data):
    at = 8
    while at + 12 <= len(data):
        length, = struct.unpack(">I", data[at:at + 4])
        end = at + 8 + length
        if end + 4 > len(data) or zlib.crc32(data[at + 4:end]) != struct.unpack(">I", data[end:end + 4])[0]:
            return False
        if data[at + 4:at + 8] == b"IEND":
            return True
        at = end + 4
    return False
out = {}
for name in json.load(sys.stdin):
    try:
        with Image.open(name) as im:
            im.load()
            out[name] = {"ok": True, "width": im.size[0], "height": im.size[1]}
    except Exception as e:
        out[name] = {"ok": False, "error": f"{type(e).__name__}: {e}"}
    data = open(name, "rb").read()
    out[name]["bad_crc"] = data.startswith(b"\x89PNG\r\n\x1a\n") and not png_crcs_ok(data)
print(json.dumps(out))
`;

function readManifest() {
  const [header, ...lines] = readFileSync(MANIFEST, "utf8").split("\n").filter((l) => l && !l.startsWith("#"));
  if (header !== COLUMNS.join("\t")) throw new Error(`${MANIFEST}: header must be ${COLUMNS.join(" ")}`);
  return lines.map((line) => Object.fromEntries(line.split("\t").map((v, i) => [COLUMNS[i], v ?? ""])));
}

function pillowVerdicts(files) {
  const stdout = execFileSync("python3", ["-c", PILLOW], {
    cwd: CORPUS, input: JSON.stringify(files), maxBuffer: 64 << 20,
  });
  return JSON.parse(stdout);
}

/** libpng's verdict on each PNG (pngtopnm exits non-zero on a libpng error); others pass. */
function libpngVerdicts(files) {
  const out = {};
  for (const name of files) {
    const bytes = readFileSync(path.join(CORPUS, name));
    if (!bytes.subarray(0, 8).equals(Buffer.from("\x89PNG\r\n\x1a\n", "latin1"))) {
      out[name] = { ok: true };
      continue;
    }
    try {
      execFileSync("pngtopnm", [name], { cwd: CORPUS, stdio: ["ignore", "ignore", "pipe"], maxBuffer: 1 << 30 });
      out[name] = { ok: true };
    } catch (e) {
      out[name] = { ok: false, error: String(e.stderr).trim().split("\n")[0] };
    }
  }
  return out;
}

async function chromiumVerdicts(files) {
  const server = createServer((req, res) => {
    const name = decodeURIComponent(new URL(req.url, "http://x").pathname.slice(1));
    if (name === "") return res.end("<!doctype html><title>corpus</title>");
    let body;
    try {
      body = readFileSync(path.join(CORPUS, name));
    } catch {
      return res.writeHead(404).end();
    }
    // A neutral type: Chromium must sniff the bytes, as it does for an image URL on the web.
    res.writeHead(200, { "Content-Type": "application/octet-stream" }).end(body);
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const base = `http://127.0.0.1:${server.address().port}/`;
  const profile = mkdtempSync(path.join(tmpdir(), "corpus-chromium-"));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS,
  });
  try {
    const page = await browser.newPage();
    await page.goto(base);
    const out = {};
    for (const name of files) {
      out[name] = await page.evaluate(async (url) => {
        const img = new Image();
        img.src = url;
        try {
          await img.decode();
          // Drawing scaled forces a full decode; reading a pixel proves it reached the canvas.
          const canvas = document.createElement("canvas");
          canvas.width = Math.min(img.naturalWidth, 64);
          canvas.height = Math.min(img.naturalHeight, 64);
          const ctx = canvas.getContext("2d");
          ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
          ctx.getImageData(0, 0, 1, 1);
          return { ok: true, width: img.naturalWidth, height: img.naturalHeight };
        } catch (e) {
          return { ok: false, error: String(e) };
        }
      }, base + encodeURIComponent(name).replaceAll("%2F", "/"));
    }
    return out;
  } finally {
    await browser.close();
    rmSync(profile, { recursive: true, force: true });
    server.close();
  }
}

const rows = readManifest();
const files = rows.map((r) => r.file);
const [browserSays, pillowSays, libpngSays] = [await chromiumVerdicts(files), pillowVerdicts(files), libpngVerdicts(files)];
let changed = 0;
for (const row of rows) {
  const b = browserSays[row.file], p = pillowSays[row.file], l = libpngSays[row.file];
  const sameSize = (b.width === p.width && b.height === p.height) || (b.width === p.height && b.height === p.width);
  const displayable = b.ok && p.ok && l.ok && sameSize;
  const verdict = !displayable ? "not-displayable" : p.bad_crc ? "bad-crc" : "displayable";
  const next = {
    verdict,
    width: verdict === "displayable" ? String(p.width) : "",
    height: verdict === "displayable" ? String(p.height) : "",
  };
  if (next.verdict !== row.verdict) {
    changed++;
    console.log(`${row.file}: ${row.verdict || "?"} -> ${next.verdict}` +
      (displayable ? "" : ` (chromium: ${b.ok ? `${b.width}x${b.height}` : b.error}; pillow: ${p.ok ? `${p.width}x${p.height}` : p.error}; libpng: ${l.ok ? "ok" : l.error})`));
  }
  Object.assign(row, next);
}
const header = readFileSync(MANIFEST, "utf8").split("\n").filter((l) => l.startsWith("#"));
writeFileSync(MANIFEST, [...header, COLUMNS.join("\t"), ...rows.map((r) => COLUMNS.map((c) => r[c]).join("\t"))].join("\n") + "\n");
const shown = rows.filter((r) => r.verdict === "displayable").length;
console.log(`${rows.length} files: ${shown} displayable, ${rows.length - shown} not; ${changed} verdicts changed`);
