// src/piece_stream.js, the body of every streamed R2 put (src/streams.rs `PieceWriter`), driven
// against a real local R2 put the way the worker drives it: two buffers that take turns, each
// refilled as soon as the write after it returns. The put must store exactly the bytes handed
// over (a piece refilled while the put still read it would corrupt the object), and a stream
// that ends short, runs long or is aborted must fail its put, promptly, leaving no object. A
// reader that fails without cancelling the stream (a local R2 put cannot be made to, so a fetch
// whose server hangs up stands in: workerd pumps both the same way) must not leave a write
// waiting forever.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import http from "node:http";
import { after, before, describe, test } from "node:test";
import { Miniflare } from "miniflare";
import { COMPAT, ROOT } from "../support/harness.mjs";

const PIECE = 1024 * 1024;

// POST /?key=K&length=N&pieces=a,b,…&then=close|abort|abort-pending[&sink=URL] →
// { put: "ok" | error, closed: "ok" | error, write: the last write's outcome, head }. The reader is
// an R2 put of K, or with `sink` a PUT of the stream to that URL. Piece i holds bytes
// (i * 31 + offset) mod 251: every piece differs from the one before it.
const WORKER = `
import { PieceStream } from "./piece_stream.js";
const fill = (buf, i) => { for (let j = 0; j < buf.length; j++) buf[j] = (i * 31 + j) % 251; };
const within = (promise, ms) => Promise.race([promise.then(() => "ok", (e) => String(e)), new Promise((r) => setTimeout(() => r("still waiting after " + ms + " ms"), ms))]);
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const length = Number(url.searchParams.get("length"));
    const pieces = url.searchParams.get("pieces").split(",").map(Number);
    const key = url.searchParams.get("key");
    const then = url.searchParams.get("then");
    const sink = url.searchParams.get("sink");
    const stream = new PieceStream(length);
    const reader = sink ? fetch(sink, { method: "PUT", body: stream.readable }) : env.B.put(key, stream.readable);
    stream.watch(reader);
    const buffers = [new ArrayBuffer(${PIECE}), new ArrayBuffer(${PIECE})];
    let inFlight = Promise.resolve();
    let closed = "ok";
    let write = "ok";
    try {
      for (let i = 0; i < pieces.length; i++) {
        const piece = new Uint8Array(buffers[i % 2], 0, pieces[i]);
        fill(piece, i); // this buffer's previous piece was taken before the last write was made
        write = await within(inFlight, 5000);
        if (write !== "ok") break;
        inFlight = stream.write(piece);
      }
      if (then !== "abort-pending") write = await within(inFlight, 5000);
      if (then === "close") stream.close();
      else stream.abort("rejected");
      if (then === "abort-pending") write = await within(inFlight, 5000);
    } catch (e) {
      closed = String(e);
    }
    const put = await within(reader, 5000);
    const head = key && (await env.B.head(key));
    return Response.json({ put, closed, write, head: head && { size: head.size } });
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

  const run = async (key, length, pieces, then = "close", sink = "") => {
    const query = `key=${key}&length=${length}&pieces=${pieces.join(",")}&then=${then}${sink && `&sink=${sink}`}`;
    const res = await mf.dispatchFetch(`http://t/?${query}`, { method: "POST" });
    assert.equal(res.status, 200);
    return res.json();
  };

  test("whole pieces and a short last one: the object is exactly the bytes handed over", async () => {
    const pieces = [PIECE, PIECE, PIECE, PIECE, PIECE, 123_457];
    const length = pieces.reduce((a, b) => a + b, 0);
    const result = await run("exact", length, pieces);
    assert.deepEqual(result, { put: "ok", closed: "ok", write: "ok", head: { size: length } });
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

  test("aborted while a piece is still waiting to be taken: that write settles, the put fails, no object", async () => {
    const result = await run("aborted-pending", 4 * PIECE, [PIECE, PIECE, PIECE], "abort-pending");
    assert.doesNotMatch(result.write, /still waiting/);
    assert.match(result.put, /rejected/);
    assert.equal(result.head, null);
  });

  test("a reader that fails mid-stream without cancelling it: the waiting write fails at once", async () => {
    // Takes 1.5 MB of the body, then drops the connection.
    const server = http.createServer((req) => {
      let received = 0;
      req.on("data", (chunk) => {
        received += chunk.length;
        if (received > 1_500_000) req.socket.destroy();
      });
    });
    await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const sink = encodeURIComponent(`http://127.0.0.1:${server.address().port}/`);
      const result = await run("", 8 * PIECE, Array(8).fill(PIECE), "close", sink);
      assert.notEqual(result.put, "ok");
      assert.doesNotMatch(result.put, /still waiting/);
      assert.notEqual(result.write, "ok");
      assert.doesNotMatch(result.write, /still waiting/);
    } finally {
      server.close();
    }
  });

  test("aborted before the last piece: the put fails with the reason, no object", async () => {
    const result = await run("aborted", 3 * PIECE, [PIECE, PIECE], "abort");
    assert.equal(result.closed, "ok");
    assert.match(result.put, /rejected/);
    assert.equal(result.head, null);
  });
});
