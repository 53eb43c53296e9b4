// openapi.yaml: a valid OpenAPI 3.1 document that names every status and reason the worker can
// send, whose examples match their own schemas, and whose response check (the one the harness
// applies to every response of the suite) rejects envelopes that break the contract.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { Validator } from "@seriousme/openapi-schema-validator";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import {
  OPENAPI_PATH, ROOT, ROUTE, assertMatchesOpenApi, expectStatus, loadOpenApi, openApiProblems, startWorker,
} from "../support/harness.mjs";

const TEXT = readFileSync(OPENAPI_PATH, "utf8");
const api = loadOpenApi(TEXT);
const { doc } = api;
const src = (file) => readFileSync(path.join(ROOT, "src", file), "utf8");

/** (status, http code) pairs from the contract table test in src/api/status.rs. */
function statusTable() {
  const rows = [...src("api/status.rs").matchAll(/\(Status::\w+, "([a-z-]+)", (\d{3})\)/g)].map((m) => [m[1], Number(m[2])]);
  assert.ok(rows.length >= 15, `parsed ${rows.length} rows of status.rs`);
  return rows;
}

/** Every `status` value the envelope schemas reachable from `schema` allow. */
function statusesOf(schema, out = new Set(), seen = new Set()) {
  if (!schema || typeof schema !== "object" || seen.has(schema)) return out;
  seen.add(schema);
  if (schema.$ref) return statusesOf(api.deref({ $ref: schema.$ref }), out, seen);
  const s = schema.properties?.status;
  if (s && s.$ref === undefined) {
    if (s.const !== undefined) out.add(s.const);
    for (const v of s.enum ?? []) out.add(v);
  }
  for (const k of ["oneOf", "anyOf", "allOf"]) for (const sub of schema[k] ?? []) statusesOf(sub, out, seen);
  return out;
}

/** All documented responses: [{where, code, response}] incl. components.responses.RouteNonExistent. */
function allResponses() {
  const out = [];
  for (const [template, rawItem] of Object.entries(doc.paths)) {
    const item = api.deref(rawItem);
    for (const method of ["get", "put", "post", "delete", "options", "head", "patch", "trace"]) {
      for (const [code, r] of Object.entries(item[method]?.responses ?? {})) {
        out.push({ where: `${method.toUpperCase()} ${template} ${code}`, code: Number(code), response: api.deref(r) });
      }
    }
  }
  out.push({ where: "RouteNonExistent", code: 500, response: api.deref(doc.components.responses.RouteNonExistent) });
  return out;
}

function jsonHeaders(extra = {}) {
  return new Headers({ "content-type": "application/json; charset=utf-8", "cache-control": "no-store", "x-request-id": "abc123", ...extra });
}

function envelopeResult(status, body, headers = jsonHeaders()) {
  return { status, headers, buf: Buffer.from(JSON.stringify(body)) };
}

const example = (name) => structuredClone(doc.components.examples[name].value);
const PUT = { method: "PUT", url: ROUTE };

describe("openapi.yaml: the document", () => {
  test("parses as YAML and declares OpenAPI 3.1 with the local server", () => {
    assert.equal(typeof doc, "object");
    assert.match(doc.openapi, /^3\.1\.\d+$/);
    assert.ok(doc.servers.some((s) => s.url === "http://127.0.0.1:8787"));
    assert.ok(doc.paths["/api/v1/list_items/upload_image"], "upload route");
    assert.ok(doc.paths["/images/{key}"], "image route");
  });

  test("is valid against the official OpenAPI 3.1 schema (@seriousme/openapi-schema-validator)", async () => {
    const validator = new Validator();
    const res = await validator.validate(parseYaml(TEXT));
    assert.equal(validator.version, "3.1");
    assert.ok(res.valid, JSON.stringify(res.errors, null, 1)?.slice(0, 3000));
  });

  test("the structural check is not a rubber stamp: a broken document is refused", async () => {
    const broken = parseYaml(TEXT);
    broken.paths["/images/{key}"].get.responses = "none";
    delete broken.info;
    const res = await new Validator().validate(broken);
    assert.equal(res.valid, false);
  });

  test("every $ref resolves and every component schema compiles under Ajv strict mode", () => {
    const walk = (node, where) => {
      if (Array.isArray(node)) return node.forEach((n, i) => walk(n, `${where}/${i}`));
      if (!node || typeof node !== "object") return;
      if (typeof node.$ref === "string") assert.doesNotThrow(() => api.deref({ $ref: node.$ref }), `${where}: ${node.$ref}`);
      for (const [k, v] of Object.entries(node)) walk(v, `${where}/${k}`);
    };
    walk(doc, "#");
    for (const [name, schema] of Object.entries(doc.components.schemas)) {
      assert.doesNotThrow(() => api.validator(schema), name);
    }
  });

  test("the status catalog: every status of src/api/status.rs with its HTTP code", () => {
    const catalog = doc.components.schemas.Status;
    for (const [status, code] of statusTable()) {
      assert.ok(catalog.enum.includes(status), `${status} in components.schemas.Status`);
      assert.equal(catalog["x-http-status"][status], code, `x-http-status of ${status}`);
    }
    assert.ok(catalog.enum.includes("mandrill-email-failed"), "the platform's mandrill-email-failed is catalogued");
    assert.match(doc.info.description, /route-non-existent/);
  });

  test("every status of src/api/status.rs is a documented response with its HTTP code, and only there", () => {
    const byCode = new Map();
    for (const { code, response } of allResponses()) {
      const schema = response.content?.["application/json"]?.schema;
      if (!schema) continue;
      const set = byCode.get(code) ?? new Set();
      statusesOf(schema, set);
      byCode.set(code, set);
    }
    const table = statusTable();
    for (const [status, code] of table) {
      assert.ok(byCode.get(code)?.has(status), `${status} documented under HTTP ${code}`);
    }
    const expectedCode = new Map(table);
    for (const [code, set] of byCode) {
      for (const status of set) assert.equal(expectedCode.get(status), code, `${status} documented under HTTP ${code}`);
    }
    for (const code of [200, 400, 401, 404, 500, 503]) assert.ok(byCode.has(code), `HTTP ${code} documented`);
  });

  /** A direct upload's body fails with the §5 reasons that apply to bytes (API.md §7). */
  function directUploadReasons(urlReasons) {
    const route = src("routes/upload_image.rs");
    assert.match(route, /param: "image", reason: failure\.reason\(\)/, "body failures reuse UrlFailure::reason()");
    const bodyReasons = ["too-large", "unsupported-type", "corrupt", "too-many-pixels", "timeout"];
    for (const r of bodyReasons) assert.ok(urlReasons.includes(r), `${r} is a UrlFailure reason`);
    return bodyReasons;
  }

  test("every data.reason of src/api/failure.rs (and the param reasons) is in the document", () => {
    const failure = src("api/failure.rs");
    const urlReasons = [...failure.matchAll(/UrlFailure::\w+(?:\(_\))? => "([a-z-]+)"/g)].map((m) => m[1]);
    assert.equal(urlReasons.length, 10, `UrlFailure reasons parsed: ${urlReasons}`);
    const otherReasons = [...failure.matchAll(/"reason": "([a-z-]+)"/g)].map((m) => m[1]);
    assert.ok(otherReasons.includes("not-found"));
    const schemas = doc.components.schemas;
    assert.deepEqual([...schemas.InvalidUrlReason.enum].sort(), [...new Set(urlReasons)].sort(), "InvalidUrlReason = UrlFailure::reason()");
    assert.equal(schemas.NotFoundData.properties.reason.const, "not-found");

    const params = src("api/params.rs");
    const paramReasons = new Set([
      ...[...params.matchAll(/reason: "([a-z-]+)"/g)].map((m) => m[1]),
      ...[...params.matchAll(/invalid\((?:if [^{]*\{ )?"([a-z-]+)"(?: \} else \{ "([a-z-]+)" \})?\)/g)].flatMap((m) => [m[1], m[2]]).filter(Boolean),
      ...[...src("fetch/destination.rs").matchAll(/UrlProblem::\w+ => "([a-z-]+)"/g)].map((m) => m[1]),
      "not-found",
      ...directUploadReasons(urlReasons),
    ]);
    for (const r of ["not-an-integer", "out-of-range", "not-a-string", "unsupported-value", "too-long", "not-absolute-url", "unsupported-scheme", "credentials"]) {
      assert.ok(paramReasons.has(r), `${r} parsed from the source`);
    }
    const documented = new Set(schemas.InvalidParamData.properties.reason.enum);
    for (const r of paramReasons) assert.ok(documented.has(r), `invalid-param reason ${r} documented`);
    for (const r of documented) assert.ok(paramReasons.has(r), `documented invalid-param reason ${r} exists in the source`);
  });

  test("every example matches the schema it illustrates", () => {
    let n = 0;
    for (const { where, response } of allResponses()) {
      for (const [type, media] of Object.entries(response.content ?? {})) {
        for (const [name, ex] of Object.entries(media.examples ?? {})) {
          const validate = api.validator(media.schema);
          assert.ok(validate(api.deref(ex).value), `${where} ${type} example ${name}: ${JSON.stringify(validate.errors)}`);
          n++;
        }
      }
    }
    const put = api.deref(doc.paths[ROUTE]).put;
    for (const [name, ex] of Object.entries(put.requestBody.content["application/json"].examples)) {
      const validate = api.validator(put.requestBody.content["application/json"].schema);
      assert.ok(validate(ex.value), `request example ${name}: ${JSON.stringify(validate.errors)}`);
      n++;
    }
    assert.ok(n >= 20, `${n} examples checked`);
  });

  test("the routes: PUT + OPTIONS upload (with trailing slash), GET + HEAD images, security alternatives", () => {
    for (const p of [ROUTE, `${ROUTE}/`]) {
      const item = api.deref(doc.paths[p]);
      assert.ok(item.put && item.options, p);
      assert.ok(item.options.responses["204"]);
      for (const code of ["200", "400", "401", "404", "500", "503"]) assert.ok(item.put.responses[code], `${p} PUT ${code}`);
      assert.deepEqual(item.put.security.map((s) => Object.keys(s)[0] ?? "(body token)").sort(), ["(body token)", "bearerAuth", "tokenQuery"]);
      assert.deepEqual(item.put.parameters.map((x) => api.deref(x)).filter((x) => x.in === "query").map((x) => x.name).sort(),
        ["application", "id", "image_url", "session_view", "token", "view"]);
    }
    assert.equal(doc.components.securitySchemes.bearerAuth.scheme, "bearer");
    const images = doc.paths["/images/{key}"];
    for (const m of ["get", "head"]) {
      assert.deepEqual(Object.keys(images[m].responses).sort(), ["200", "304", "404", "500", "503"]);
    }
    const bytes = api.deref(images.get.responses["200"]);
    assert.deepEqual(Object.keys(bytes.content).sort(), ["image/jpeg", "image/png"]);
    for (const h of ["ETag", "Cache-Control", "Content-Type", "X-Content-Type-Options", "Content-Security-Policy", "X-Request-Id"]) {
      assert.ok(bytes.headers[h], `image header ${h}`);
    }
    for (const { where, response } of allResponses()) {
      if (!response.content?.["application/json"]) continue;
      for (const h of ["Content-Type", "Cache-Control", "X-Request-Id"]) assert.ok(response.headers?.[h], `${where}: header ${h}`);
    }
  });
});

describe("openapi.yaml: the response check rejects what breaks the contract", () => {
  const rejects = (result, request = PUT, why) =>
    assert.rejects(assertMatchesOpenApi(result, request), (err) => {
      assert.match(err.message, /openapi\.yaml/);
      if (why) assert.match(err.message, why);
      return true;
    });

  test("the documented examples pass (so the rejections below are about the mutation)", async () => {
    await assertMatchesOpenApi(envelopeResult(200, example("ActionSuccessful")), PUT);
    await assertMatchesOpenApi(envelopeResult(400, example("InvalidUrlUpstreamStatus")), PUT);
    await assertMatchesOpenApi(envelopeResult(401, example("ClientRequired")), PUT);
    await assertMatchesOpenApi(envelopeResult(404, example("ImageNotFound")), { method: "GET", url: "/images/list_items/1/x.png" });
    await assertMatchesOpenApi(envelopeResult(500, example("RouteNonExistent")), { method: "GET", url: ROUTE });
  });

  test("an unknown data.reason for invalid-url", async () => {
    const body = example("InvalidUrlTooLarge");
    body.data.reason = "too-big";
    await rejects(envelopeResult(400, body), PUT, /data/);
  });

  test("upstream-status without upstream_status, and upstream_status on another reason", async () => {
    const a = example("InvalidUrlUpstreamStatus");
    delete a.data.upstream_status;
    await rejects(envelopeResult(400, a));
    const b = example("InvalidUrlTooLarge");
    b.data.upstream_status = 404;
    await rejects(envelopeResult(400, b));
  });

  test("a status under the wrong HTTP code", async () => {
    await rejects(envelopeResult(400, example("InvalidToken")));
    await rejects(envelopeResult(500, example("ServiceNotFound")));
    await rejects(envelopeResult(404, example("RouteNonExistent")));
  });

  test("a status string that does not exist", async () => {
    const body = example("InvalidToken");
    body.status = "token-invalid";
    await rejects(envelopeResult(401, body));
  });

  test("success without session, with an extra key, or with a wrong item/session shape", async () => {
    const noSession = example("ActionSuccessful");
    delete noSession.session;
    await rejects(envelopeResult(200, noSession));
    const extra = example("ActionSuccessful");
    extra.debug = "x";
    await rejects(envelopeResult(200, extra));
    const itemMissing = example("ActionSuccessful");
    delete itemMissing.data.notes;
    await rejects(envelopeResult(200, itemMissing));
    const flagNumber = example("ActionSuccessful");
    flagNumber.data.active = 1;
    await rejects(envelopeResult(200, flagNumber));
    const noImage = example("ActionSuccessful");
    noImage.data.image = null;
    await rejects(envelopeResult(200, noImage));
    const badSha = example("ActionSuccessful");
    badSha.data.image.sha256 = "xyz";
    await rejects(envelopeResult(200, badSha));
    const expiresWhenRemembered = example("ActionSuccessful");
    expiresWhenRemembered.session.remember_me = true;
    await rejects(envelopeResult(200, expiresWhenRemembered));
    const badTime = example("ActionSuccessful");
    badTime.session.created_at = "yesterday";
    await rejects(envelopeResult(200, badTime));
  });

  test("session on an error other than client-required; client-required without it", async () => {
    const withSession = example("SessionExpired");
    withSession.session = example("ClientRequired").session;
    await rejects(envelopeResult(401, withSession));
    const without = example("ClientRequired");
    delete without.session;
    await rejects(envelopeResult(401, without));
  });

  test("invalid-param with a reason that belongs to another param, or missing-param with an unknown param", async () => {
    const a = example("InvalidParam");
    a.data.reason = "not-found";
    await rejects(envelopeResult(400, a));
    const b = example("MissingParam");
    b.data.params = ["token"];
    await rejects(envelopeResult(400, b));
    const c = example("MissingParam");
    c.data.params = [];
    await rejects(envelopeResult(400, c));
  });

  test("error data that is not {} where {} is documented; a missing message", async () => {
    const a = example("ApplicationCrash");
    a.data = { detail: "D1_ERROR" };
    await rejects(envelopeResult(500, a));
    const b = example("NoParamsDecoded");
    delete b.message;
    await rejects(envelopeResult(400, b));
  });

  test("envelope headers: wrong Content-Type, missing Cache-Control, missing or malformed X-Request-Id", async () => {
    const body = example("NoParamsDecoded");
    await rejects(envelopeResult(400, body, jsonHeaders({ "content-type": "application/json" })), PUT, /Content-Type/);
    const noCache = jsonHeaders();
    noCache.delete("cache-control");
    await rejects(envelopeResult(400, body, noCache), PUT, /Cache-Control/);
    const noId = jsonHeaders();
    noId.delete("x-request-id");
    await rejects(envelopeResult(400, body, noId), PUT, /X-Request-Id/);
    await rejects(envelopeResult(400, body, jsonHeaders({ "x-request-id": "a b" })), PUT, /X-Request-Id/);
  });

  test("an undocumented HTTP code, an unknown route answered with anything but route-non-existent, a non-JSON body", async () => {
    await rejects(envelopeResult(418, example("ApplicationCrash")), PUT, /not documented/);
    await rejects(envelopeResult(400, example("NoParamsDecoded")), { method: "POST", url: ROUTE }, /not documented/);
    await rejects(envelopeResult(500, example("ApplicationCrash")), { method: "DELETE", url: "/x" });
    await rejects({ status: 400, headers: new Headers({ "content-type": "text/html", "x-request-id": "a" }), buf: Buffer.from("<h1>") });
  });

  test("image route: the 404 needs data.reason not-found (or {}), the 200 its caching headers", async () => {
    const image = { method: "GET", url: "/images/list_items/1/00000000000000000000000000000000.png" };
    const wrong = example("ImageNotFound");
    wrong.data.reason = "gone";
    await rejects(envelopeResult(404, wrong), image);
    const headers = new Headers({
      "content-type": "image/png", "content-length": "3", etag: '"abc"', "cache-control": "public, max-age=31536000, immutable",
      "x-content-type-options": "nosniff", "content-security-policy": "default-src 'none'; sandbox", "x-request-id": "r1",
    });
    await assertMatchesOpenApi({ status: 200, headers, buf: Buffer.from("png") }, image);
    const noCache = new Headers(headers);
    noCache.set("cache-control", "no-store");
    await rejects({ status: 200, headers: noCache, buf: Buffer.from("png") }, image, /Cache-Control/);
    const gif = new Headers(headers);
    gif.set("content-type", "image/gif");
    await rejects({ status: 200, headers: gif, buf: Buffer.from("gif") }, image);
  });

  test("openApiProblems lists every problem at once", () => {
    const body = example("InvalidUrlTooLarge");
    body.data.reason = "nope";
    const result = envelopeResult(400, body, new Headers({ "content-type": "application/json; charset=utf-8" }));
    const problems = openApiProblems(api, api.findResponse("PUT", ROUTE, 400).response, result, "PUT");
    assert.ok(problems.length >= 3, problems.join("\n"));
  });
});

describe("openapi.yaml: a real response against a document that disagrees with it", () => {
  let ctx;
  before(async () => {
    ctx = await startWorker();
  });
  after(() => ctx?.dispose());

  test("the worker's real no-params-decoded fails once the document stops listing it", async () => {
    const r = await ctx.put({});
    expectStatus(r, 400, "no-params-decoded"); // passed the real document inside ctx.put
    const altered = parseYaml(TEXT);
    altered.components.schemas.BadRequestPlainEnvelope.properties.status.enum = ["invalid-content-type", "invalid-encoded-params"];
    const strict = loadOpenApi(stringifyYaml(altered));
    await assert.rejects(assertMatchesOpenApi(r, { method: "PUT", url: ROUTE }, strict), /openapi\.yaml.*does not match/s);
  });

  test("a real 404 for an unknown image key fails once the document wants another reason", async () => {
    const url = "/images/list_items/1/00000000000000000000000000000000.png";
    const res = await ctx.fetch(url); // checked against the real document
    const buf = Buffer.from(await res.arrayBuffer());
    assert.equal(res.status, 404);
    assert.deepEqual(JSON.parse(buf.toString()).data, { reason: "not-found" });
    const altered = parseYaml(TEXT);
    altered.components.schemas.NotFoundData.properties.reason.const = "no-such-key";
    const strict = loadOpenApi(stringifyYaml(altered));
    await assert.rejects(assertMatchesOpenApi({ status: res.status, headers: res.headers, buf }, { method: "GET", url }, strict), /openapi\.yaml/);
  });
});
