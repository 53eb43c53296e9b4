// Steps 6 and 7: required params, param validation, list item existence.
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import { assertNothingStored, expectStatus, fixture, serve, startWorker } from "../support/harness.mjs";

const IMG = "https://img.example.com/params/a.png";

describe("params", () => {
  let ctx;
  let s;
  let itemId;
  before(async () => {
    ctx = await startWorker();
    s = await ctx.seedSession();
    itemId = await ctx.seedItem();
  });
  after(() => ctx?.dispose());
  beforeEach(() => ctx.origin.reset());

  const call = (params) => ctx.put({ token: s.token, ...params });
  const noOutbound = () => assert.deepEqual(ctx.origin.log.map((e) => e.key), [], "no outbound request");

  // ---- missing-param --------------------------------------------------------------------------
  for (const [name, params, missing] of [
    ["id absent", { image_url: IMG }, ["id"]],
    ["image_url absent", { id: 1 }, ["image_url"]],
    ["both absent", { application: "planoauth" }, ["id", "image_url"]],
    ["both null", { id: null, image_url: null }, ["id", "image_url"]],
    ["both empty", { id: "", image_url: "" }, ["id", "image_url"]],
    ["id empty, image_url null", { image_url: null, id: "" }, ["id", "image_url"]],
    ["id null", { id: null, image_url: IMG }, ["id"]],
    ["image_url empty", { id: 1, image_url: "" }, ["image_url"]],
  ]) {
    test(`${name} -> 400 missing-param ${JSON.stringify(missing)}`, async () => {
      const r = await call(params);
      const body = expectStatus(r, 400, "missing-param");
      assert.deepEqual(body.data, { params: missing });
      noOutbound();
    });
  }

  test("missing params are listed before invalid ones (invalid id, missing image_url)", async () => {
    const r = await call({ id: "abc" });
    const body = expectStatus(r, 400, "missing-param");
    assert.deepEqual(body.data, { params: ["image_url"] });
  });

  test("order: missing image_url + non-existent item -> missing-param", async () => {
    const r = await call({ id: 999_999_999 });
    const body = expectStatus(r, 400, "missing-param");
    assert.deepEqual(body.data, { params: ["image_url"] });
  });

  // ---- invalid id -------------------------------------------------------------------------------
  for (const [name, raw] of [
    ['"abc"', '"abc"'],
    ["0", "0"],
    ['"0"', '"0"'],
    ["-1", "-1"],
    ['"-1"', '"-1"'],
    ["1.5", "1.5"],
    ['"12a"', '"12a"'],
    ['"1.0e3"', '"1.0e3"'],
    ['" 12"', '" 12"'],
    ['"9223372036854775808"', '"9223372036854775808"'],
    ["9223372036854775808 (JSON number)", "9223372036854775808"],
    ["1e30", "1e30"],
    ["true", "true"],
    ["{}", "{}"],
    ["[1]", "[1]"],
  ]) {
    test(`id ${name} -> 400 invalid-param id`, async () => {
      const r = await ctx.put(`{"token":${JSON.stringify(s.token)},"id":${raw},"image_url":${JSON.stringify(IMG)}}`);
      const body = expectStatus(r, 400, "invalid-param");
      assert.equal(body.data?.param, "id");
      assert.equal(typeof body.data.reason, "string");
      assert.ok(body.data.reason.length > 0);
      noOutbound();
    });
  }

  test("order: invalid id + unreachable URL -> invalid-param, no outbound fetch", async () => {
    ctx.origin.route("https://unreachable.example.com/a.png", (req) => req.socket.destroy());
    const r = await call({ id: "abc", image_url: "https://unreachable.example.com/a.png" });
    const body = expectStatus(r, 400, "invalid-param");
    assert.equal(body.data.param, "id");
    noOutbound();
  });

  // ---- invalid image_url ----------------------------------------------------------------------
  for (const [name, value] of [
    ["a number", 123],
    ["an object", { url: IMG }],
    ["an array", [IMG]],
    ["true", true],
    ["relative path", "/images/a.png"],
    ["no scheme", "img.example.com/a.png"],
    ["ftp scheme", "ftp://img.example.com/a.png"],
    ["file scheme", "file:///etc/passwd"],
    ["javascript scheme", "javascript:alert(1)"],
    ["data URL", "data:image/png;base64,iVBORw0KGgo="],
    ["over 2048 bytes", "https://img.example.com/" + "a".repeat(2030) + ".png"],
    ["user:pass@", "https://user:pass@img.example.com/a.png"],
    ["not a URL", "http://"],
  ]) {
    test(`image_url ${name} -> 400 invalid-param image_url`, async () => {
      const r = await call({ id: itemId, image_url: value });
      const body = expectStatus(r, 400, "invalid-param");
      assert.equal(body.data?.param, "image_url");
      assert.equal(typeof body.data.reason, "string");
      assert.ok(body.data.reason.length > 0);
      noOutbound();
    });
  }

  test("image_url of exactly 2048 bytes passes validation (then the unknown item decides)", async () => {
    const url = "https://img.example.com/" + "b".repeat(2048 - "https://img.example.com/".length - 4) + ".png";
    assert.equal(Buffer.byteLength(url), 2048);
    const r = await call({ id: 999_999_998, image_url: url });
    const body = expectStatus(r, 400, "invalid-param");
    assert.deepEqual(body.data, { param: "id", reason: "not-found" });
    noOutbound();
  });

  // ---- optional params --------------------------------------------------------------------------
  for (const [param, value] of [
    ["application", "planofoo"],
    ["application", ""],
    ["application", 1],
    ["view", "full"],
    ["view", 1],
    ["session_view", "admin"],
    ["session_view", "compact"],
  ]) {
    test(`${param}=${JSON.stringify(value)} -> 400 invalid-param ${param}`, async () => {
      const r = await call({ id: itemId, image_url: IMG, [param]: value });
      const body = expectStatus(r, 400, "invalid-param");
      assert.equal(body.data?.param, param);
      assert.equal(typeof body.data.reason, "string");
      noOutbound();
    });
  }

  for (const application of ["planoauth", "planoorder", "planox2"]) {
    test(`application=${application}, view/session_view=default are accepted`, async () => {
      const r = await call({ id: 999_999_997, image_url: IMG, application, view: "default", session_view: "default" });
      const body = expectStatus(r, 400, "invalid-param");
      assert.deepEqual(body.data, { param: "id", reason: "not-found" });
    });
  }

  // ---- list item existence ----------------------------------------------------------------------
  test("unknown list item -> 400 invalid-param {param: id, reason: not-found}, no fetch", async () => {
    ctx.origin.route(IMG, serve(fixture("sample.png")));
    const r = await call({ id: 999_999_999, image_url: IMG });
    const body = expectStatus(r, 400, "invalid-param");
    assert.deepEqual(body.data, { param: "id", reason: "not-found" });
    noOutbound();
  });

  test("unknown list item given as a digit string -> not-found", async () => {
    const r = await call({ id: "999999996", image_url: IMG });
    const body = expectStatus(r, 400, "invalid-param");
    assert.deepEqual(body.data, { param: "id", reason: "not-found" });
  });

  // ---- the id bound: 2^53 - 1, the largest integer every JSON client reads exactly -------------
  const putRawId = (raw) => ctx.put(`{"token":${JSON.stringify(s.token)},"id":${raw},"image_url":${JSON.stringify(IMG)}}`);

  for (const raw of ["9007199254740991", '"9007199254740991"', '"0009007199254740991"']) {
    test(`id ${raw} (2^53 - 1) passes the param check -> not-found`, async () => {
      const r = await putRawId(raw);
      const body = expectStatus(r, 400, "invalid-param");
      assert.deepEqual(body.data, { param: "id", reason: "not-found" });
    });
  }

  test("id 2^53 - 1 in the query string passes the param check -> not-found", async () => {
    const r = await ctx.put({ token: s.token, image_url: IMG }, { query: { id: "9007199254740991" } });
    assert.deepEqual(expectStatus(r, 400, "invalid-param").data, { param: "id", reason: "not-found" });
  });

  for (const raw of [
    "9007199254740992", '"9007199254740992"', "9223372036854775807", '"9223372036854775807"', "9223372036854775808",
    "18446744073709551616", '"99999999999999999999999"', "1e30", "1e300", "9007199254740992.0",
  ]) {
    test(`id ${raw} (above 2^53 - 1) -> 400 invalid-param out-of-range, no fetch`, async () => {
      const r = await putRawId(raw);
      assert.deepEqual(expectStatus(r, 400, "invalid-param").data, { param: "id", reason: "out-of-range" });
      noOutbound();
    });
  }

  test("id 2^53 in the query string -> out-of-range", async () => {
    const r = await ctx.put({ token: s.token, image_url: IMG }, { query: { id: "9007199254740992" } });
    assert.deepEqual(expectStatus(r, 400, "invalid-param").data, { param: "id", reason: "out-of-range" });
  });

  test("an item with id 2^53 - 1 can be updated", async () => {
    const url = "https://img.example.com/params/max-id.png";
    const id = await ctx.seedItem(Number.MAX_SAFE_INTEGER);
    ctx.origin.route(url, serve(fixture("sample.png")));
    const r = await call({ id, image_url: url });
    const body = expectStatus(r, 200, "action-successful");
    assert.equal(body.data.id, Number.MAX_SAFE_INTEGER);
  });

  test("an image_url whose host is spelled with percent-escapes of non-ASCII bytes is fetched in punycode", async () => {
    const id = await ctx.seedItem();
    ctx.origin.route("https://xn--bcher-kva.example/params/idn.png", serve(fixture("sample.png")));
    const r = await call({ id, image_url: "https://B%C3%BCcher.example/params/idn.png" });
    expectStatus(r, 200, "action-successful");
    assert.deepEqual(ctx.origin.log.map((e) => e.host), ["xn--bcher-kva.example"]);
  });

  test("an error leaves the item untouched", async () => {
    const before = await ctx.getRow(itemId);
    const r = await call({ id: itemId, image_url: "ftp://img.example.com/a.png" });
    expectStatus(r, 400, "invalid-param");
    await assertNothingStored(ctx, itemId, before);
  });
});
