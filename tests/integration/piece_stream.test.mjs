// src/piece_stream.js, the body of every streamed R2 put (src/streams.rs `PieceWriter`), driven
// against a real local R2 put the way the worker drives it: two buffers that take turns, each
// refilled as soon as the write after it returns. The put must store exactly the bytes handed
// over (a piece refilled while the put still read it would corrupt the object), and a stream
// that ends short, runs long or is aborted must fail its put, promptly, leaving no object.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { Miniflare } from "miniflare";
import { COMPAT, ROOT } from "../support/harness.mjs";

const PIECE = 1024 * 1024;

// POST /?length=N&pieces=a,b,…&then=close|abort → { put: "ok" | error, closed: "ok" | error, head }.
// Piece i holds bytes (i * 31 + offset) mod 251: every piece differs from the one before it.
const WORKER = `
import { PieceStream } from "./piece_stream.js";
const fill = (buf, i) => { for (let j = 0; j < buf.length; j++) buf[j] = (i * 31 + j) % 251; };
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const length = Number(url.searchParams.get("length"));
    const pieces = url.searchParams.get("pieces").split(",").map(Number);
    const key = url.searchParams.get("key");
    const stream = new PieceStream(length);
    const put = env.B.put(key, stream.readable).then(() => "ok", (e) => String(e));
    const buffers = [new ArrayBuffer(${PIECE}), new ArrayBuffer(${PIECE})];
    let inFlight = null;
    let closed = "ok";
    try {
      for (let i = 0; i < pieces.length; i++) {
        const piece = new Uint8Array(buffers[i % 2], 0, pieces[i]);
        fill(piece, i); // this buffer's previous piece was taken before the last write was made
        await inFlight;
        inFlight = stream.write(piece);
      }
      await inFlight;
      if (url.searchParams.get("then") === "abort") stream.abort("rejected");
      else stream.close();
    } catch (e) {
      closed = String(e);
    }
    const outcome = await Promise.race([put, new Promise((r) => setTimeout(() => r("still waiting after 5 s"), 5000))]);
    const head = await env.B.head(key);
    return Response.json({ put: outcome, closed, head: head && { size: head.size } });
  },
};`;

function expected(pieces) {
  const parts = pieces.map((size, i) => Uint8Array.from({ length: size }, (_, j) => (i * 31 + j) % 251));
  return Buffer.concat(parts);
}

describe("PieceStream: the streamed put's body", () => {
  let mf;
  before(async () => {
    mf = new Miniflare({
      ...COMPAT,
      modules: [
        { type: "ESModule", path: "worker.mjs", contents: WORKER },
        { type: "ESModule", path: "piece_stream.js", contents: readFileSync(path.join(ROOT, "src", "piece_stream.js"), "utf8") },
      ],
      r2Buckets: ["B"],
    });
    await mf.ready;
  });
  after(() => mf?.dispose());

  const run = async (key, length, pieces, then = "close") => {
    const res = await mf.dispatchFetch(`http://t/?key=${key}&length=${length}&pieces=${pieces.join(",")}&then=${then}`, { method: "POST" });
    assert.equal(res.status, 200);
    return res.json();
  };

  test("whole pieces and a short last one: the object is exactly the bytes handed over", async () => {
    const pieces = [PIECE, PIECE, PIECE, PIECE, PIECE, 123_457];
    const length = pieces.reduce((a, b) => a + b, 0);
    const result = await run("exact", length, pieces);
    assert.deepEqual(result, { put: "ok", closed: "ok", head: { size: length } });
    const object = await (await mf.getR2Bucket("B")).get("exact");
    const stored = Buffer.from(await object.arrayBuffer());
    assert.equal(createHash("sha256").update(stored).digest("hex"), createHash("sha256").update(expected(pieces)).digest("hex"));
  });

  test("closed short of the length: close throws, the put fails at once, no object", async () => {
    const result = await run("short", 3 * PIECE, [PIECE, PIECE, PIECE - 1]);
    assert.match(result.closed, /3145727 of the 3145728 bytes announced/);
    assert.notEqual(result.put, "ok");
    assert.doesNotMatch(result.put, /still waiting/);
    assert.equal(result.head, null);
  });

  test("a piece past the length: the write is refused, the put fails, no object", async () => {
    const result = await run("long", 2 * PIECE, [PIECE, PIECE, 1]);
    assert.match(result.closed, /more than the 2097152 bytes announced/);
    assert.notEqual(result.put, "ok");
    assert.doesNotMatch(result.put, /still waiting/);
    assert.equal(result.head, null);
  });

  test("aborted before the last piece: the put fails with the reason, no object", async () => {
    const result = await run("aborted", 3 * PIECE, [PIECE, PIECE], "abort");
    assert.equal(result.closed, "ok");
    assert.match(result.put, /rejected/);
    assert.equal(result.head, null);
  });
});
