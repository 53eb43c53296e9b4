// Step 8: fetching the image (destinations, redirects, limits, timeouts) and validating the bytes.
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import {
  assertNothingStored, assertStored, buildPng, expectInvalidUrl, expectStatus, expectStoredFrom, fixture,
  networkError, pngChunks, redirect, serve, sleep, statusOnly, startWorker,
} from "../support/harness.mjs";

const PNG = fixture("sample.png");
const JPG = fixture("sample.jpg");
const PJPG = fixture("sample-progressive.jpg");
const LARGE = fixture("large.png");

describe("fetch and validate (default limits)", () => {
  let ctx;
  before(async () => {
    ctx = await startWorker();
  });
  after(() => ctx?.dispose());
  beforeEach(() => ctx.origin.reset());

  // ---- what the worker sends ------------------------------------------------------------------
  test("outbound request: GET, own User-Agent and Accept, no caller credentials", async () => {
    const url = "https://img.example.com/fv/headers.png";
    const p = await ctx.prepare({ url, handler: serve(PNG) });
    const r = await ctx.put(
      { id: p.id, image_url: url },
      { headers: { authorization: `Bearer ${p.token}`, cookie: `session=${p.token}; other=1`, "x-api-key": p.token } },
    );
    await assertStored(ctx, r, { id: p.id, seeded: p, source: PNG, sourceUrl: url });
    assert.equal(ctx.origin.log.length, 1);
    const { method, headers } = ctx.origin.log[0];
    assert.equal(method, "GET");
    assert.equal(headers.authorization, undefined);
    assert.equal(headers.cookie, undefined);
    for (const [k, v] of Object.entries(headers)) {
      assert.ok(!String(v).includes(p.token), `outbound header ${k} leaks the token`);
    }
    assert.ok(headers["user-agent"] && headers["user-agent"].length > 0, "User-Agent set");
    assert.equal(headers.accept, "image/png, image/jpeg");
  });

  test("an international hostname is fetched in punycode and recorded as such", async () => {
    const ascii = "https://xn--bcher-kva.example/fv/bild%C3%A9.png";
    const p = await ctx.prepare({ url: ascii, handler: serve(PNG) });
    const r = await ctx.put({ token: p.token, id: p.id, image_url: "https://b\u00fccher.example/fv/bild\u00e9.png" });
    await assertStored(ctx, r, { id: p.id, seeded: p, source: PNG, sourceUrl: ascii });
    assert.equal(ctx.origin.log.length, 1);
  });

  test("token passed in the body is not forwarded either", async () => {
    const url = "https://img.example.com/fv/headers-body.png";
    const p = await ctx.prepare({ url, handler: serve(PNG) });
    const r = await ctx.put({ token: p.token, id: p.id, image_url: url });
    expectStatus(r, 200, "action-successful");
    const e = ctx.origin.log[0];
    assert.ok(!e.path.includes(p.token));
    for (const v of Object.values(e.headers)) assert.ok(!String(v).includes(p.token));
  });

  // ---- accepted images ------------------------------------------------------------------------
  test("baseline JPEG -> stored as .jpg image/jpeg", async () => {
    const url = "https://img.example.com/fv/photo.jpg";
    await expectStoredFrom(ctx, { url, handler: serve(JPG, { contentType: "image/jpeg" }), source: JPG, sourceUrl: url, contentType: "image/jpeg", ext: "jpg" });
  });

  test("progressive JPEG -> stored as .jpg image/jpeg", async () => {
    const url = "https://img.example.com/fv/progressive.jpg";
    await expectStoredFrom(ctx, { url, handler: serve(PJPG, { contentType: "image/jpeg" }), source: PJPG, sourceUrl: url, contentType: "image/jpeg", ext: "jpg" });
  });

  test("origin Content-Type is ignored: PNG served as text/plain is stored as image/png", async () => {
    const url = "https://img.example.com/fv/plain.txt";
    await expectStoredFrom(ctx, { url, handler: serve(PNG, { contentType: "text/plain" }), source: PNG, sourceUrl: url });
  });

  test("origin Content-Type is ignored: JPEG served as image/png is stored as image/jpeg", async () => {
    const url = "https://img.example.com/fv/liar.png";
    await expectStoredFrom(ctx, { url, handler: serve(JPG, { contentType: "image/png" }), source: JPG, sourceUrl: url, contentType: "image/jpeg", ext: "jpg" });
  });

  test("no Content-Type at all is fine", async () => {
    const url = "https://img.example.com/fv/untyped";
    await expectStoredFrom(ctx, { url, handler: serve(PNG, { contentType: null }), source: PNG, sourceUrl: url });
  });

  test("large PNG (640x480) streamed in chunks without Content-Length", async () => {
    const url = "https://img.example.com/fv/large.png";
    await expectStoredFrom(ctx, {
      url, handler: serve(LARGE, { contentLength: false, chunks: 8 }), source: LARGE, sourceUrl: url, width: 640, height: 480,
    });
  });

  test("upper-case scheme and host are fine", async () => {
    const url = "HTTPS://IMG.EXAMPLE.COM/fv/upper.png";
    await expectStoredFrom(ctx, { url, handler: serve(PNG), source: PNG });
  });

  test("http:// URL is fetched too", async () => {
    const url = "http://img.example.com/fv/http.png";
    await expectStoredFrom(ctx, { url, handler: serve(PNG), source: PNG, sourceUrl: url });
  });

  // ---- upstream failures ----------------------------------------------------------------------
  for (const code of [404, 403, 500, 503]) {
    test(`origin ${code} -> invalid-url upstream-status ${code}`, async () => {
      const { body } = await expectInvalidUrl(ctx, {
        url: `https://img.example.com/fv/status-${code}.png`, handler: statusOnly(code, "nope"), reason: "upstream-status",
      });
      assert.equal(body.data.upstream_status, code);
    });
  }

  test("origin 204 No Content -> invalid-url, nothing stored", async () => {
    await expectInvalidUrl(ctx, { url: "https://img.example.com/fv/204.png", handler: statusOnly(204) });
  });

  test("network error -> invalid-url unreachable", async () => {
    await expectInvalidUrl(ctx, { url: "https://img.example.com/fv/down.png", handler: networkError(), reason: "unreachable" });
  });

  test("connection dropped mid-body (lying Content-Length) -> invalid-url, nothing stored", async () => {
    const half = PNG.subarray(0, 700);
    await expectInvalidUrl(ctx, {
      url: "https://img.example.com/fv/cut.png",
      handler: (req, res) => {
        res.writeHead(200, { "content-type": "image/png", "content-length": String(PNG.length) });
        res.write(half, () => setTimeout(() => req.socket.destroy(), 20));
      },
    });
  });

  test("200 with an empty body -> invalid-url empty", async () => {
    await expectInvalidUrl(ctx, { url: "https://img.example.com/fv/empty.png", handler: serve(Buffer.alloc(0)), reason: "empty" });
  });

  test("200 with an empty chunked body -> invalid-url empty", async () => {
    await expectInvalidUrl(ctx, {
      url: "https://img.example.com/fv/empty-chunked.png", handler: serve(Buffer.alloc(0), { contentLength: false, chunks: 2 }), reason: "empty",
    });
  });

  // ---- unsupported / corrupt bytes ------------------------------------------------------------
  for (const [file, ct] of [
    ["sample.gif", "image/png"],
    ["sample.webp", "image/png"],
    ["sample.svg", "image/png"],
    ["sample.html", "image/png"],
    ["sample.gif", "image/gif"],
    ["sample.svg", "image/svg+xml"],
  ]) {
    test(`${file} served as ${ct} -> invalid-url unsupported-type`, async () => {
      await expectInvalidUrl(ctx, {
        url: `https://img.example.com/fv/${file}-${ct.replace(/\W/g, "")}`, handler: serve(fixture(file), { contentType: ct }), reason: "unsupported-type",
      });
    });
  }

  test("plain text -> invalid-url unsupported-type", async () => {
    await expectInvalidUrl(ctx, { url: "https://img.example.com/fv/text.png", handler: serve(Buffer.from("hello world, not an image\n")), reason: "unsupported-type" });
  });

  test("truncated PNG (first half) -> invalid-url corrupt", async () => {
    const half = PNG.subarray(0, Math.floor(PNG.length / 2));
    await expectInvalidUrl(ctx, { url: "https://img.example.com/fv/half.png", handler: serve(half), reason: "corrupt" });
  });

  test("PNG with a bad chunk CRC -> invalid-url corrupt", async () => {
    const bad = Buffer.from(PNG);
    // Flip a byte inside the IDAT data (its CRC no longer matches).
    const idat = bad.indexOf("IDAT");
    assert.ok(idat > 0);
    bad[idat + 10] ^= 0xff;
    await expectInvalidUrl(ctx, { url: "https://img.example.com/fv/crc.png", handler: serve(bad), reason: "corrupt" });
  });

  test("PNG without IEND -> invalid-url corrupt", async () => {
    const noEnd = PNG.subarray(0, PNG.length - 12);
    await expectInvalidUrl(ctx, { url: "https://img.example.com/fv/noiend.png", handler: serve(noEnd), reason: "corrupt" });
  });

  test("PNG signature only -> invalid-url corrupt", async () => {
    await expectInvalidUrl(ctx, { url: "https://img.example.com/fv/sig.png", handler: serve(PNG.subarray(0, 8)), reason: "corrupt" });
  });

  test("truncated JPEG (first half) -> invalid-url corrupt", async () => {
    const half = JPG.subarray(0, Math.floor(JPG.length / 2));
    await expectInvalidUrl(ctx, { url: "https://img.example.com/fv/half.jpg", handler: serve(half, { contentType: "image/jpeg" }), reason: "corrupt" });
  });

  test("PNG whose first chunk is not IHDR -> invalid-url corrupt", async () => {
    const chunks = pngChunks(PNG);
    const bad = buildPng([{ type: "tEXt", data: Buffer.from("Comment\0hello", "latin1") }, ...chunks]);
    await expectInvalidUrl(ctx, { url: "https://img.example.com/fv/text-first.png", handler: serve(bad), reason: "corrupt" });
  });

  test("PNG without IDAT -> invalid-url corrupt", async () => {
    const bad = buildPng(pngChunks(PNG).filter((c) => c.type !== "IDAT"));
    await expectInvalidUrl(ctx, { url: "https://img.example.com/fv/no-idat.png", handler: serve(bad), reason: "corrupt" });
  });

  test("PNG with a zero-width IHDR (valid CRC) -> invalid-url corrupt", async () => {
    const chunks = pngChunks(PNG);
    chunks[0].data.writeUInt32BE(0, 0);
    await expectInvalidUrl(ctx, { url: "https://img.example.com/fv/zero-width.png", handler: serve(buildPng(chunks)), reason: "corrupt" });
  });

  test("PNG rebuilt from its own chunks (valid CRCs) is accepted", async () => {
    const rebuilt = buildPng(pngChunks(PNG));
    assert.deepEqual(rebuilt, PNG);
  });

  test("JPEG without EOI -> invalid-url corrupt", async () => {
    assert.deepEqual([...JPG.subarray(-2)], [0xff, 0xd9]);
    await expectInvalidUrl(ctx, { url: "https://img.example.com/fv/no-eoi.jpg", handler: serve(JPG.subarray(0, JPG.length - 2)), reason: "corrupt" });
  });

  test("JPEG with zero height in its frame header -> invalid-url corrupt", async () => {
    const bad = Buffer.from(JPG);
    let off = 2;
    let sof = -1;
    while (off < bad.length) {
      const m = bad[off + 1];
      if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) { sof = off; break; }
      off += 2 + bad.readUInt16BE(off + 2);
    }
    assert.ok(sof > 0, "found SOFn");
    bad.writeUInt16BE(0, sof + 5);
    await expectInvalidUrl(ctx, { url: "https://img.example.com/fv/zero-height.jpg", handler: serve(bad), reason: "corrupt" });
  });

  test("JPEG SOI only -> invalid-url corrupt", async () => {
    await expectInvalidUrl(ctx, { url: "https://img.example.com/fv/soi.jpg", handler: serve(Buffer.from([0xff, 0xd8, 0xff, 0xd9])), reason: "corrupt" });
  });

  // ---- destinations ---------------------------------------------------------------------------
  for (const url of [
    "http://127.0.0.1/a.png",
    "http://127.1.2.3:8080/a.png",
    "http://localhost/a.png",
    "http://img.localhost/a.png",
    "http://printer.local/a.png",
    "http://db.internal/a.png",
    "http://10.0.0.1/a.png",
    "http://172.16.5.4/a.png",
    "http://192.168.1.1/a.png",
    "http://100.64.0.1/a.png",
    "http://169.254.169.254/latest/meta-data/",
    "http://0.0.0.0/a.png",
    "http://224.0.0.1/a.png",
    "http://255.255.255.255/a.png",
    "http://[::1]/a.png",
    "http://[::ffff:127.0.0.1]/a.png",
    "http://[fe80::1]/a.png",
    "http://[fc00::1]/a.png",
    "http://2130706433/a.png",
    "http://0x7f000001/a.png",
    "http://0177.0.0.1/a.png",
    "http://127.1/a.png",
    "http://0x7f.1/a.png",
    "http://LOCALHOST/a.png",
    "http://localhost./a.png",
    "http://printer.LOCAL./a.png",
    "http://192.0.2.1/a.png",
    "http://198.18.0.1/a.png",
    "http://240.0.0.1/a.png",
    "http://[::]/a.png",
    "http://[::ffff:7f00:1]/a.png",
    "http://[::ffff:10.0.0.1]/a.png",
    "http://[ff02::1]/a.png",
    "http://[fd12:3456::1]/a.png",
    "https://[::1]:8443/a.png",
    // Unicode spellings, turned into ASCII by the runtime's URL parser before the policy runs.
    "http://127\u30020\u30020\u30021/a.png",
    "http://\uff11\uff12\uff17.0.0.1/a.png",
    "http://\uff4c\uff4f\uff43\uff41\uff4c\uff48\uff4f\uff53\uff54/a.png",
  ]) {
    test(`${url} -> invalid-url forbidden-destination, never fetched`, async () => {
      await expectInvalidUrl(ctx, { url, reason: "forbidden-destination" });
      assert.equal(ctx.origin.log.length, 0);
    });
  }

  // ---- redirects ------------------------------------------------------------------------------
  for (const code of [301, 302, 303, 307, 308]) {
    test(`${code} redirect with a relative Location is followed`, async () => {
      const url = `https://img.example.com/fv/rel-${code}/start.png`;
      await expectStoredFrom(ctx, {
        url, handler: redirect("../final.png", code), source: PNG,
        routes: { "https://img.example.com/fv/final.png": serve(PNG) },
      });
      assert.deepEqual(ctx.origin.log.map((e) => e.path), [`/fv/rel-${code}/start.png`, "/fv/final.png"]);
    });
  }

  test("redirect to another host (absolute Location) is followed", async () => {
    const url = "https://img.example.com/fv/cdn-start.png";
    await expectStoredFrom(ctx, {
      url, handler: redirect("https://cdn.example.net/x/final.png"), source: PNG,
      routes: { "https://cdn.example.net/x/final.png": serve(PNG) },
    });
    assert.equal(ctx.origin.requestsTo("https://cdn.example.net/x/final.png").length, 1);
  });

  test("a chain of exactly MAX_REDIRECTS (3) hops succeeds", async () => {
    const url = "https://img.example.com/fv/chain3/r1";
    await expectStoredFrom(ctx, {
      url, handler: redirect("r2"), source: PNG,
      routes: {
        "https://img.example.com/fv/chain3/r2": redirect("r3"),
        "https://img.example.com/fv/chain3/r3": redirect("final.png"),
        "https://img.example.com/fv/chain3/final.png": serve(PNG),
      },
    });
    assert.equal(ctx.origin.log.length, 4);
  });

  /** An origin answer whose body (1 KiB every 50 ms, 5 s in all) records when it stopped. */
  function slowBody(status, headers = {}) {
    const seen = { closedAt: null, sentAll: false };
    const handler = async (req, res) => {
      res.writeHead(status, headers);
      for (let i = 0; i < 100 && !res.destroyed; i++) {
        res.write(Buffer.alloc(1024, 0x41));
        await sleep(50);
      }
      seen.sentAll = !res.destroyed;
      seen.closedAt = performance.now();
      res.end();
    };
    return { handler, seen };
  }

  test("the body of a redirect is cancelled before the next hop, not left open", async () => {
    const url = "https://img.example.com/fv/cancel/start.png";
    const hop = slowBody(302, { location: "final.png" });
    const final = "https://img.example.com/fv/cancel/final.png";
    let finalStarted;
    const serveSlowly = serve(PNG, { chunks: 10, chunkDelayMs: 150 });
    await expectStoredFrom(ctx, {
      url, handler: hop.handler, source: PNG,
      routes: { [final]: (req, res) => ((finalStarted = performance.now()), serveSlowly(req, res)) },
    });
    assert.equal(hop.seen.sentAll, false, "the redirect's body was read or held to its end");
    assert.ok(hop.seen.closedAt - finalStarted < 1000, `the redirect's body stayed open ${(hop.seen.closedAt - finalStarted).toFixed(0)} ms into the next hop`);
  });

  for (const [name, status, headers, reason] of [
    ["a non-2xx answer", 404, {}, "upstream-status"],
    ["a Content-Length over the cap", 200, { "content-type": "image/png", "content-length": String(30 * 1024 * 1024) }, "too-large"],
  ]) {
    test(`the body of ${name} is cancelled at once`, async () => {
      const url = `https://img.example.com/fv/cancel/${status}.png`;
      const answer = slowBody(status, headers);
      await expectInvalidUrl(ctx, { url, handler: answer.handler, reason });
      const answeredAt = performance.now();
      while (answer.seen.closedAt === null && performance.now() - answeredAt < 6000) await sleep(20);
      assert.equal(answer.seen.sentAll, false, "the body was read to its end");
    });
  }

  test("a chain of 4 hops -> invalid-url too-many-redirects", async () => {
    await expectInvalidUrl(ctx, {
      url: "https://img.example.com/fv/chain4/r1", handler: redirect("r2"), reason: "too-many-redirects",
      routes: {
        "https://img.example.com/fv/chain4/r2": redirect("r3"),
        "https://img.example.com/fv/chain4/r3": redirect("r4"),
        "https://img.example.com/fv/chain4/r4": redirect("final.png"),
        "https://img.example.com/fv/chain4/final.png": serve(PNG),
      },
    });
    assert.equal(ctx.origin.requestsTo("https://img.example.com/fv/chain4/final.png").length, 0);
  });

  test("redirect loop -> invalid-url too-many-redirects", async () => {
    await expectInvalidUrl(ctx, {
      url: "https://img.example.com/fv/loop/a", handler: redirect("https://img.example.com/fv/loop/b"), reason: "too-many-redirects",
      routes: { "https://img.example.com/fv/loop/b": redirect("https://img.example.com/fv/loop/a") },
    });
    assert.ok(ctx.origin.log.length <= 4, `at most MAX_REDIRECTS + 1 fetches, got ${ctx.origin.log.length}`);
  });

  test("302 without Location -> invalid-url unreachable", async () => {
    await expectInvalidUrl(ctx, { url: "https://img.example.com/fv/noloc.png", handler: redirect(null), reason: "unreachable" });
  });

  test("redirect to the metadata address -> forbidden-destination, not fetched", async () => {
    await expectInvalidUrl(ctx, {
      url: "https://img.example.com/fv/to-metadata.png", handler: redirect("http://169.254.169.254/"), reason: "forbidden-destination",
    });
    assert.deepEqual(ctx.origin.log.map((e) => e.host), ["img.example.com"]);
  });

  test("redirect to a URL with credentials is refused, not fetched", async () => {
    await expectInvalidUrl(ctx, {
      url: "https://img.example.com/fv/to-creds.png", handler: redirect("https://user:pass@img.example.com/fv/creds-target.png"),
      routes: { "https://img.example.com/fv/creds-target.png": serve(PNG) },
    });
    assert.equal(ctx.origin.requestsTo("https://img.example.com/fv/creds-target.png").length, 0);
  });

  test("redirect with an unusable Location -> invalid-url unreachable", async () => {
    await expectInvalidUrl(ctx, { url: "https://img.example.com/fv/badloc.png", handler: redirect("http://[::1"), reason: "unreachable" });
    assert.equal(ctx.origin.log.length, 1);
  });

  test("redirect to a *.internal name -> forbidden-destination, not fetched", async () => {
    await expectInvalidUrl(ctx, {
      url: "https://img.example.com/fv/to-internal.png", handler: redirect("https://metadata.google.internal/a.png"), reason: "forbidden-destination",
    });
    assert.equal(ctx.origin.log.length, 1);
  });

  test("redirect to a decimal-spelled loopback -> forbidden-destination, not fetched", async () => {
    await expectInvalidUrl(ctx, {
      url: "https://img.example.com/fv/to-decimal.png", handler: redirect("https://2130706433/a.png"), reason: "forbidden-destination",
    });
    assert.equal(ctx.origin.log.length, 1);
  });

  test("redirect to localhost -> forbidden-destination, not fetched", async () => {
    await expectInvalidUrl(ctx, {
      url: "https://img.example.com/fv/to-localhost.png", handler: redirect("http://localhost:8080/a.png"), reason: "forbidden-destination",
    });
    assert.equal(ctx.origin.log.length, 1);
  });

  // ---- ports: 80 or 443 only, whatever the scheme, on every hop --------------------------------
  for (const url of ["https://img.example.com:8080/fv/port.png", "http://img.example.com:8443/fv/port.png", "http://img.example.com:22/fv/port.png"]) {
    test(`${url} -> forbidden-destination, never fetched`, async () => {
      await expectInvalidUrl(ctx, { url, handler: serve(PNG), reason: "forbidden-destination" });
      assert.equal(ctx.origin.log.length, 0);
    });
  }

  test("redirect to port 22 -> forbidden-destination, not fetched", async () => {
    await expectInvalidUrl(ctx, {
      url: "https://img.example.com/fv/to-ssh.png", handler: redirect("https://img.example.com:22/a.png"), reason: "forbidden-destination",
      routes: { "https://img.example.com:22/a.png": serve(PNG) },
    });
    assert.deepEqual(ctx.origin.log.map((e) => e.host), ["img.example.com"]);
  });

  for (const url of ["http://img.example.com:443/fv/port-443.png", "https://img.example.com:80/fv/port-80.png", "https://img.example.com:443/fv/port-443s.png"]) {
    test(`${url} is allowed (the port rule ignores the scheme)`, async () => {
      await expectStoredFrom(ctx, { url, handler: serve(PNG), source: PNG });
      assert.equal(ctx.origin.log.length, 1);
    });
  }

  test("redirect to an ftp:// URL is refused", async () => {
    await expectInvalidUrl(ctx, {
      url: "https://img.example.com/fv/to-ftp.png", handler: redirect("ftp://img.example.com/a.png"),
    });
    assert.equal(ctx.origin.log.length, 1);
  });

  test("redirect from https to http is refused", async () => {
    await expectInvalidUrl(ctx, {
      url: "https://img.example.com/fv/downgrade.png", handler: redirect("http://img.example.com/fv/downgrade-target.png"),
      routes: { "http://img.example.com/fv/downgrade-target.png": serve(PNG) },
    });
    assert.equal(ctx.origin.requestsTo("http://img.example.com/fv/downgrade-target.png").length, 0);
  });
});

describe("MAX_IMAGE_BYTES=1000", () => {
  let ctx;
  before(async () => {
    ctx = await startWorker({ vars: { MAX_IMAGE_BYTES: "1000" } });
  });
  after(() => ctx?.dispose());
  beforeEach(() => ctx.origin.reset());

  test("Content-Length over the cap -> invalid-url too-large", async () => {
    await expectInvalidUrl(ctx, { url: "https://img.example.com/lim/large-cl.png", handler: serve(LARGE), reason: "too-large" });
  });

  test("streamed without Content-Length over the cap -> invalid-url too-large", async () => {
    await expectInvalidUrl(ctx, {
      url: "https://img.example.com/lim/large-chunked.png", handler: serve(LARGE, { contentLength: false, chunks: 10 }), reason: "too-large",
    });
  });

  test("small image just over the cap (1512 bytes) streamed -> too-large", async () => {
    await expectInvalidUrl(ctx, {
      url: "https://img.example.com/lim/sample-chunked.png", handler: serve(PNG, { contentLength: false, chunks: 3 }), reason: "too-large",
    });
  });
});

describe("MAX_IMAGE_PIXELS=1000", () => {
  let ctx;
  before(async () => {
    ctx = await startWorker({ vars: { MAX_IMAGE_PIXELS: "1000" } });
  });
  after(() => ctx?.dispose());
  beforeEach(() => ctx.origin.reset());

  test("64x48 PNG -> invalid-url too-many-pixels", async () => {
    await expectInvalidUrl(ctx, { url: "https://img.example.com/px/a.png", handler: serve(PNG), reason: "too-many-pixels" });
  });

  test("64x48 JPEG -> invalid-url too-many-pixels", async () => {
    await expectInvalidUrl(ctx, { url: "https://img.example.com/px/a.jpg", handler: serve(JPG), reason: "too-many-pixels" });
  });
});

describe("MAX_IMAGE_SIDE=32", () => {
  let ctx;
  before(async () => {
    ctx = await startWorker({ vars: { MAX_IMAGE_SIDE: "32" } });
  });
  after(() => ctx?.dispose());
  beforeEach(() => ctx.origin.reset());

  test("64x48 PNG -> invalid-url too-many-pixels", async () => {
    await expectInvalidUrl(ctx, { url: "https://img.example.com/side/a.png", handler: serve(PNG), reason: "too-many-pixels" });
  });

  test("64x48 progressive JPEG -> invalid-url too-many-pixels", async () => {
    await expectInvalidUrl(ctx, { url: "https://img.example.com/side/a.jpg", handler: serve(PJPG), reason: "too-many-pixels" });
  });
});

describe("limits at their boundary (MAX_IMAGE_SIDE=64, MAX_IMAGE_PIXELS=3072, MAX_IMAGE_BYTES=1512)", () => {
  let ctx;
  before(async () => {
    ctx = await startWorker({ vars: { MAX_IMAGE_SIDE: "64", MAX_IMAGE_PIXELS: "3072", MAX_IMAGE_BYTES: String(PNG.length) } });
  });
  after(() => ctx?.dispose());
  beforeEach(() => ctx.origin.reset());

  test("a 64x48 PNG of exactly MAX_IMAGE_BYTES is accepted", async () => {
    const url = "https://img.example.com/edge/a.png";
    await expectStoredFrom(ctx, { url, handler: serve(PNG, { contentLength: false, chunks: 2 }), source: PNG, sourceUrl: url });
  });
});

describe("FETCH_TIMEOUT_MS=300, MAX_REDIRECTS=1, FETCH_ALLOW_PRIVATE=true", () => {
  let ctx;
  before(async () => {
    ctx = await startWorker({ vars: { FETCH_TIMEOUT_MS: "300", MAX_REDIRECTS: "1", FETCH_ALLOW_PRIVATE: "true" } });
  });
  after(() => ctx?.dispose());
  beforeEach(() => ctx.origin.reset());

  test("origin answers after 2 s -> invalid-url timeout (without waiting for it)", async () => {
    const t0 = Date.now();
    await expectInvalidUrl(ctx, { url: "https://slow.example.com/a.png", handler: serve(PNG, { headerDelayMs: 2000 }), reason: "timeout" });
    assert.ok(Date.now() - t0 < 1800, `answered after ${Date.now() - t0} ms`);
  });

  test("body that stalls for 2 s -> invalid-url timeout (the limit covers the whole fetch)", async () => {
    const t0 = Date.now();
    await expectInvalidUrl(ctx, {
      url: "https://slow.example.com/stall.png", handler: serve(PNG, { contentLength: true, chunks: 2, chunkDelayMs: 2000 }), reason: "timeout",
    });
    assert.ok(Date.now() - t0 < 1800, `answered after ${Date.now() - t0} ms`);
  });

  test("the timeout covers the whole redirect chain", async () => {
    const slowRedirect = async (req, res) => { await sleep(200); redirect("final.png")(req, res); };
    await expectInvalidUrl(ctx, {
      url: "https://slow.example.com/chain/start", handler: slowRedirect, reason: "timeout",
      routes: { "https://slow.example.com/chain/final.png": serve(PNG, { headerDelayMs: 200 }) },
    });
  });

  test("one redirect is within MAX_REDIRECTS=1", async () => {
    const url = "https://img.example.com/mr/one";
    await expectStoredFrom(ctx, { url, handler: redirect("final.png"), source: PNG, routes: { "https://img.example.com/mr/final.png": serve(PNG) } });
  });

  test("two redirects exceed MAX_REDIRECTS=1 -> too-many-redirects", async () => {
    await expectInvalidUrl(ctx, {
      url: "https://img.example.com/mr/two", handler: redirect("mid"), reason: "too-many-redirects",
      routes: { "https://img.example.com/mr/mid": redirect("final.png"), "https://img.example.com/mr/final.png": serve(PNG) },
    });
  });

  test("FETCH_ALLOW_PRIVATE=true allows any port, on every hop", async () => {
    const url = "https://img.example.com:8443/ap/start.png";
    await expectStoredFrom(ctx, { url, handler: redirect("https://img.example.com:8080/ap/final.png"), source: PNG,
      routes: { "https://img.example.com:8080/ap/final.png": serve(PNG) } });
  });

  test("FETCH_ALLOW_PRIVATE=true lets a loopback origin through", async () => {
    const url = "http://127.0.0.1:9/a.png";
    await expectStoredFrom(ctx, { url, handler: serve(PNG), source: PNG, sourceUrl: url });
  });
});
