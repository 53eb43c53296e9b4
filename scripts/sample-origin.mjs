// A tiny local image origin for `npm run dev`: serves tests/fixtures/images/ on loopback so the
// demo upload needs no internet. Only the dev command starts it.
import { createServer } from "node:http";
import { readFile, readdir } from "node:fs/promises";
import { join, basename } from "node:path";

const dir = new URL("../tests/fixtures/images/", import.meta.url).pathname;
const port = Number(process.env.ORIGIN_PORT ?? 8788);

createServer(async (req, res) => {
  const name = basename(decodeURIComponent(new URL(req.url, "http://x").pathname));
  try {
    const body = await readFile(join(dir, name));
    res.writeHead(200, { "content-length": body.length, "content-type": "application/octet-stream" });
    res.end(body);
  } catch {
    res.writeHead(404, { "content-type": "text/plain" });
    res.end(`not found; try one of: ${(await readdir(dir)).join(", ")}\n`);
  }
}).listen(port, "127.0.0.1", () => console.log(`sample origin on http://127.0.0.1:${port}/`));
