// Shared harness for the integration suite: starts the built worker in Miniflare with real
// (in-memory) KV / D1 / R2, applies migrations, seeds sessions and list items, and simulates the
// outbound internet with a per-test origin router that records every outbound request.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { parse as parseYaml } from "yaml";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
// The deployed entry point (shim around build/index.js); WORKER_SCRIPT overrides it.
export const SCRIPT_PATH = process.env.WORKER_SCRIPT || path.join(ROOT, "shim", "entry.mjs");
export const FIXTURES = path.join(ROOT, "tests", "fixtures", "images");
export const BASE = "https://worker.test";
export const ROUTE = "/api/v1/list_items/upload_image";
/** The runtime the worker is deployed on: wrangler.toml's compatibility date and flags
 * (`nodejs_compat` gives it node:zlib and node:crypto), as Miniflare options. */
export const COMPAT = (() => {
  // Top-level keys only: everything before the first [table] (e.g. [env.production]).
  const toml = readFileSync(path.join(ROOT, "wrangler.toml"), "utf8").split(/^\[/m)[0];
  const flags = /^compatibility_flags\s*=\s*\[([^\]]*)\]/m.exec(toml)?.[1] ?? "";
  return {
    compatibilityDate: /^compatibility_date\s*=\s*["']([^"']+)["']/m.exec(toml)[1],
    compatibilityFlags: [...flags.matchAll(/["']([^"']+)["']/g)].map(([, flag]) => flag),
  };
})();

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

export function fixture(name) {
  return readFileSync(path.join(FIXTURES, name));
}

export function sha256(data) {
  return createHash("sha256").update(data).digest("hex");
}

export function newToken() {
  return "tok_" + randomBytes(16).toString("hex");
}

/** RFC 3339 UTC timestamp, second precision, `ms` milliseconds from now (negative = past). */
export function isoFromNow(ms) {
  return new Date(Date.now() + ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

let idCounter = 1000 + Math.floor(Math.random() * 1000) * 1000;
/** Process-unique positive id (list items, sessions, users). */
export function uniqueId() {
  return ++idCounter;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns a truthy value or `timeout` ms pass; returns the last value. */
export async function waitFor(fn, { timeout = 2000, interval = 50 } = {}) {
  const end = Date.now() + timeout;
  let v;
  for (;;) {
    v = await fn();
    if (v || Date.now() >= end) return v;
    await sleep(interval);
  }
}

// ---------------------------------------------------------------------------------------------
// Simulated outbound internet.
//
// Miniflare's `outboundService: { node(req, res) }` form gives raw control of the HTTP exchange
// (chunking, delays, dropped connections). The worker's request reaches it as host + path (the
// scheme is not visible there), so routes are keyed by host + path + query; `route()` accepts a
// full URL and ignores its scheme.
// ---------------------------------------------------------------------------------------------

function routeKey(url) {
  const u = new URL(url);
  return `${u.host}${u.pathname}${u.search}`;
}

const ignoreError = () => {};

export class Origin {
  constructor() {
    this.routes = new Map();
    this.log = [];
    this.node = this.node.bind(this);
  }

  /** Register `handler(req, res)` (node http style) for a URL (scheme ignored). */
  route(url, handler) {
    this.routes.set(routeKey(url), handler);
    return url;
  }

  reset() {
    this.routes.clear();
    this.log.length = 0;
  }

  /** Log entries whose host+path+query equals that of `url` (scheme ignored). */
  requestsTo(url) {
    const k = routeKey(url);
    return this.log.filter((e) => e.key === k);
  }

  unexpected() {
    return this.log.filter((e) => !e.matched);
  }

  async node(req, res) {
    res.on("error", () => {});
    // Once per socket: a keep-alive socket serves many requests, and a listener per request
    // piles up (MaxListenersExceededWarning in long runs such as the soak).
    if (req.socket && !req.socket.listeners("error").includes(ignoreError)) req.socket.on("error", ignoreError);
    const headers = { ...req.headers };
    delete headers["mf-custom-node-service"];
    const key = `${req.headers.host}${req.url}`;
    const handler = this.routes.get(key);
    this.log.push({ key, host: req.headers.host, path: req.url, method: req.method, headers, matched: !!handler });
    if (!handler) throw new Error(`unexpected outbound request: ${req.method} ${key}`);
    await handler(req, res);
  }
}

// Handler factories ---------------------------------------------------------------------------

/** Serve `buf`. Options: status, contentType, contentLength (true|false|number), chunks, chunkDelayMs, headerDelayMs, headers. */
export function serve(buf, opts = {}) {
  const {
    status = 200,
    contentType = "image/png",
    contentLength = true,
    chunks = 1,
    chunkDelayMs = 0,
    headerDelayMs = 0,
    headers = {},
  } = opts;
  return async (req, res) => {
    if (headerDelayMs) await sleep(headerDelayMs);
    const h = { ...headers };
    if (contentType) h["content-type"] = contentType;
    if (contentLength === true) h["content-length"] = String(buf.length);
    else if (typeof contentLength === "number") h["content-length"] = String(contentLength);
    res.writeHead(status, h);
    if (chunks <= 1 && !chunkDelayMs) {
      res.end(buf);
      return;
    }
    const size = Math.ceil(buf.length / Math.max(chunks, 1));
    for (let off = 0; off < buf.length; off += size) {
      if (res.destroyed) return;
      res.write(buf.subarray(off, off + size));
      if (chunkDelayMs) await sleep(chunkDelayMs);
    }
    res.end();
  };
}

export function statusOnly(status, body = "") {
  return (req, res) => {
    res.writeHead(status, { "content-type": "text/plain", "content-length": String(Buffer.byteLength(body)) });
    res.end(body);
  };
}

export function redirect(location, status = 302) {
  return (req, res) => {
    const h = { "content-length": "0" };
    if (location !== null && location !== undefined) h.location = location;
    res.writeHead(status, h);
    res.end();
  };
}

/** Drops the connection without answering (a network error for the worker). */
export function networkError() {
  return (req) => {
    req.socket.destroy();
  };
}

// ---------------------------------------------------------------------------------------------
// Worker instance
// ---------------------------------------------------------------------------------------------

export function buildExists() {
  return existsSync(SCRIPT_PATH) && existsSync(path.join(ROOT, "build", "index.js"));
}

/** Every statement of migrations/*.sql, in order (the tests and the benchmarks seed D1 with them). */
export function migrationStatements() {
  const dir = path.join(ROOT, "migrations");
  const files = readdirSync(dir).filter((f) => f.endsWith(".sql")).sort();
  const out = [];
  for (const f of files) {
    const sql = readFileSync(path.join(dir, f), "utf8");
    for (const part of sql.split(/;[ \t]*(?:\r?\n|$)/)) {
      const meaningful = part
        .split(/\r?\n/)
        .filter((l) => l.trim() && !l.trim().startsWith("--"))
        .join("\n")
        .trim();
      if (meaningful) out.push(meaningful);
    }
  }
  return out;
}

/**
 * Starts the worker. Options:
 *   vars: extra `bindings` (strings, or other JSON for the bad-var test)
 *   kv / d1 / r2: false to leave that binding out
 *   logs: true to collect the worker's console output in `ctx.logs` ([{timestamp, level, message}])
 *         instead of printing it
 *   uploadLimit: uploads per user per 60 s of the rate limiter UPLOAD_LIMITER (API.md §3 step 5b);
 *         the default is so high that no other test meets it; null leaves the binding out
 * `ctx.url` is the worker's real HTTP address on loopback (for a browser).
 */
export async function startWorker({ vars = {}, kv = true, d1 = true, r2 = true, logs = false, uploadLimit = 1_000_000, compat = COMPAT } = {}) {
  if (!buildExists()) throw new Error(`${SCRIPT_PATH} is missing: build the worker first`);
  const origin = new Origin();
  const logLines = [];
  const mf = new Miniflare({
    modules: true,
    scriptPath: SCRIPT_PATH,
    modulesRoot: ROOT,
    // The entry imports worker-build's ES module output (build/index.js) and its wasm.
    modulesRules: [
      { type: "ESModule", include: ["**/*.js", "**/*.mjs"] },
      { type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true },
    ],
    ...compat,
    cf: false, // never fetch the real Request.cf from the network
    kvNamespaces: kv ? ["SESSIONS"] : [],
    d1Databases: d1 ? ["DB"] : [],
    r2Buckets: r2 ? ["IMAGES"] : [],
    ratelimits: uploadLimit === null ? {} : { UPLOAD_LIMITER: { simple: { limit: uploadLimit, period: 60 } } },
    bindings: { ...vars },
    outboundService: { node: origin.node },
    ...(logs ? { handleStructuredLogs: (entry) => void logLines.push(entry) } : {}),
  });
  const url = await mf.ready;
  // Remember which request each response answers, so toResult() can check it against openapi.yaml.
  const rawDispatch = mf.dispatchFetch.bind(mf);
  mf.dispatchFetch = async (input, init = {}) => {
    const res = await rawDispatch(input, init);
    rememberRequest(res, init.method ?? (input instanceof Request ? input.method : "GET"), input instanceof Request ? input.url : input);
    return res;
  };

  const ctx = {
    mf,
    origin,
    url,
    logs: logLines,
    kv: kv ? await mf.getKVNamespace("SESSIONS") : null,
    db: d1 ? await mf.getD1Database("DB") : null,
    bucket: r2 ? await mf.getR2Bucket("IMAGES") : null,
  };
  if (ctx.db) {
    for (const stmt of migrationStatements()) await ctx.db.prepare(stmt).run();
  }

  /** Raw dispatch against the worker (the response is checked against openapi.yaml on a clone). */
  ctx.fetch = async (pathOrUrl, init = {}) => {
    const res = await mf.dispatchFetch(new URL(pathOrUrl, BASE).toString(), init);
    const copy = res.clone();
    await assertMatchesOpenApi({ status: copy.status, headers: copy.headers, buf: Buffer.from(await copy.arrayBuffer()) }, requestOf.get(res));
    return res;
  };

  /**
   * PUT the upload route. `body`: object (JSON-encoded), string / Buffer (sent raw) or undefined
   * (no body). Options: headers, query (object), path, method, contentType (null = no header),
   * signal (an AbortSignal: the client hangs up when it fires).
   */
  ctx.put = async (body, { headers = {}, query, path: p = ROUTE, method = "PUT", contentType = "application/json", signal } = {}) => {
    const url = new URL(p, BASE);
    if (query) for (const [k, v] of Object.entries(query)) url.searchParams.set(k, String(v));
    const h = { ...headers };
    if (contentType !== null && !Object.keys(h).some((k) => k.toLowerCase() === "content-type")) {
      h["content-type"] = contentType;
    }
    let payload;
    if (body === undefined) payload = undefined;
    else if (Buffer.isBuffer(body) || body instanceof Uint8Array) payload = new Uint8Array(body);
    else if (typeof body === "string") payload = new Uint8Array(Buffer.from(body, "utf8"));
    else payload = new Uint8Array(Buffer.from(JSON.stringify(body), "utf8"));
    const init = { method, headers: h, signal };
    if (payload !== undefined && method !== "GET" && method !== "HEAD") {
      init.body = payload;
      // As curl and browsers do: dispatchFetch would otherwise send a byte array chunked.
      if (!Object.keys(h).some((k) => k.toLowerCase() === "content-length")) h["content-length"] = String(payload.length);
    }
    const res = await mf.dispatchFetch(url.toString(), init);
    return toResult(res);
  };

  /** Seeds `session:<sha256(token)>` and (unless user === null) `user:<id>` in KV. */
  ctx.seedSession = async ({
    token = newToken(),
    remember_me = false,
    created_at = isoFromNow(-HOUR),
    last_used_at = isoFromNow(-HOUR),
    user = {},
    sessionId = uniqueId(),
    userId = uniqueId(),
    extra = {},
    rawSession,
    rawUser,
  } = {}) => {
    const kvKey = `session:${sha256(token)}`;
    const session = { id: sessionId, user_id: userId, created_at, last_used_at, remember_me, ...extra };
    const sessionJson = rawSession ?? JSON.stringify(session);
    await ctx.kv.put(kvKey, sessionJson);
    if (rawUser !== undefined) {
      await ctx.kv.put(`user:${userId}`, rawUser);
    } else if (user !== null) {
      const u = { id: userId, email: `u${userId}@example.com`, client_id: 5, employee_id: null, liaison_id: null, ...user };
      await ctx.kv.put(`user:${userId}`, JSON.stringify(u));
    }
    return { token, sessionId, userId, kvKey, sessionJson, remember_me };
  };

  /** Inserts a list item exactly as the contract's minimal insert; returns its id. */
  ctx.seedItem = async (id = uniqueId()) => {
    await ctx.db
      .prepare("INSERT INTO list_items (id, key, slug, name) VALUES (?, ?, ?, ?)")
      .bind(id, `item-${id}`, `item-${id}`, `Item ${id}`)
      .run();
    return id;
  };

  ctx.getRow = (id) => ctx.db.prepare("SELECT * FROM list_items WHERE id = ?").bind(id).first();

  ctx.listItemObjects = async (id) => (await ctx.bucket.list({ prefix: `list_items/${id}/` })).objects;

  /** Seeds a valid session + item and routes `url` to `handler`; returns everything a request needs. */
  ctx.prepare = async ({ url, handler, session = {} } = {}) => {
    const s = await ctx.seedSession(session);
    const id = await ctx.seedItem();
    if (url && handler) origin.route(url, handler);
    return { ...s, id, url };
  };

  ctx.dispose = () => mf.dispose();
  return ctx;
}

/**
 * Reads a worker response. Every response is checked against openapi.yaml (see
 * assertMatchesOpenApi): the request is the one `ctx.put` / `ctx.fetch` / `ctx.mf.dispatchFetch`
 * sent, or `request` ({method, url}) when given; for a response of another Miniflare instance
 * whose request is unknown, the body must match one of the documented envelopes for its HTTP code.
 */
export async function toResult(res, request) {
  const buf = Buffer.from(await res.arrayBuffer());
  const text = buf.toString("utf8");
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  const result = { res, status: res.status, headers: res.headers, text, buf, body };
  await assertMatchesOpenApi(result, request ?? requestOf.get(res));
  return result;
}

// ---------------------------------------------------------------------------------------------
// openapi.yaml as the oracle for every response
//
// The document's component schemas are compiled with Ajv (JSON Schema 2020-12, the dialect of
// OpenAPI 3.1) and ajv-formats. A response is looked up by path (templates `{name}` match any
// non-empty rest, as `/images/{key}` keys contain `/`), method and HTTP code; a method/path the
// document does not describe must be the documented `components.responses.RouteNonExistent`.
// Then: every `required` header is present, every documented header present matches its schema,
// the body's media type is documented, and a JSON body validates against its schema.
// ---------------------------------------------------------------------------------------------

export const OPENAPI_PATH = path.join(ROOT, "openapi.yaml");
const SCHEMA_BASE = "https://list-items-upload-image.invalid/openapi.yaml";
const requestOf = new WeakMap();
const openApiStats = { checked: 0, jsonBodies: 0, byOperation: {} };

function rememberRequest(res, method, url) {
  if (res && typeof res === "object") requestOf.set(res, { method: String(method).toUpperCase(), url: String(url) });
}

/** `#/a/b~1c` → the node it points at inside `doc`. */
export function resolvePointer(doc, ref) {
  if (!ref.startsWith("#/")) throw new Error(`only local $ref supported: ${ref}`);
  let node = doc;
  for (const raw of ref.slice(2).split("/")) {
    const key = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (node === null || typeof node !== "object" || !(key in node)) throw new Error(`unresolvable $ref ${ref}`);
    node = node[key];
  }
  return node;
}

/** Follows OpenAPI-level `$ref`s (path items, responses, headers, parameters, examples). */
function deref(doc, node) {
  const seen = new Set();
  while (node && typeof node === "object" && typeof node.$ref === "string") {
    if (seen.has(node.$ref)) throw new Error(`$ref cycle at ${node.$ref}`);
    seen.add(node.$ref);
    node = resolvePointer(doc, node.$ref);
  }
  return node;
}

/** Rewrites `#/components/schemas/X` to the `$defs` of the schema under which the components are registered. */
function rebase(schema) {
  if (Array.isArray(schema)) return schema.map(rebase);
  if (schema === null || typeof schema !== "object") return schema;
  const out = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k === "$ref" && typeof v === "string") {
      if (!v.startsWith("#/components/schemas/")) throw new Error(`openapi.yaml: a schema $ref must point into #/components/schemas: ${v}`);
      out[k] = `${SCHEMA_BASE}#/$defs/${v.slice("#/components/schemas/".length)}`;
    } else out[k] = rebase(v);
  }
  return out;
}

/**
 * Loads and compiles openapi.yaml (or `text`). Returns { doc, ajv, validator(schema) → compiled fn,
 * findResponse(method, path, status) }.
 */
export function loadOpenApi(text = readFileSync(OPENAPI_PATH, "utf8")) {
  const doc = parseYaml(text);
  const ajv = new Ajv2020({ allErrors: true, strict: true, strictTypes: false, strictRequired: false, validateFormats: true });
  addFormats(ajv);
  // Vendor extensions inside schemas are annotations.
  for (const keyword of collectExtensionKeywords(doc.components?.schemas ?? {})) ajv.addKeyword(keyword);
  ajv.addSchema({ $id: SCHEMA_BASE, $defs: rebase(doc.components?.schemas ?? {}) });
  const cache = new Map();
  const validator = (schema) => {
    if (!cache.has(schema)) cache.set(schema, ajv.compile(rebase(schema)));
    return cache.get(schema);
  };

  const templates = Object.keys(doc.paths ?? {}).map((template) => {
    const rx = "^" + template.split(/(\{[^}]+\})/).map((part) => (/^\{[^}]+\}$/.test(part) ? "(.+)" : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))).join("") + "$";
    return { template, rx: new RegExp(rx) };
  });

  /** → { where, response } (response undefined when the code is not documented). */
  const findResponse = (method, pathname, status) => {
    const m = method.toLowerCase();
    const hit = templates.find(({ rx }) => rx.test(pathname));
    const item = hit ? deref(doc, doc.paths[hit.template]) : null;
    const op = item?.[m];
    if (!op) {
      return { where: `${method} ${pathname} (no operation in openapi.yaml: components.responses.RouteNonExistent)`,
               response: status === 500 ? deref(doc, doc.components.responses.RouteNonExistent) : undefined, opKey: "route-non-existent" };
    }
    const r = op.responses?.[String(status)] ?? op.responses?.default;
    return { where: `${method} ${hit.template} -> ${status}`, response: r && deref(doc, r), opKey: `${method} ${hit.template}` };
  };

  /** Every documented response (any operation, plus RouteNonExistent) for an HTTP code. */
  const responsesFor = (status) => {
    const out = [];
    for (const template of Object.keys(doc.paths ?? {})) {
      const item = deref(doc, doc.paths[template]);
      for (const m of ["get", "put", "post", "delete", "options", "head", "patch", "trace"]) {
        const r = item?.[m]?.responses?.[String(status)];
        if (r) out.push({ where: `${m.toUpperCase()} ${template} -> ${status}`, response: deref(doc, r) });
      }
    }
    if (status === 500) out.push({ where: "RouteNonExistent", response: deref(doc, doc.components.responses.RouteNonExistent) });
    return out;
  };

  return { doc, ajv, validator, findResponse, responsesFor, deref: (node) => deref(doc, node) };
}

function collectExtensionKeywords(node, out = new Set()) {
  if (Array.isArray(node)) node.forEach((n) => collectExtensionKeywords(n, out));
  else if (node && typeof node === "object") {
    for (const [k, v] of Object.entries(node)) {
      if (k.startsWith("x-")) out.add(k);
      else collectExtensionKeywords(v, out);
    }
  }
  return out;
}

let openApi;
function contract() {
  openApi ??= loadOpenApi();
  return openApi;
}

function describeErrors(errors) {
  return (errors ?? [])
    .slice(0, 12)
    .map((e) => `  ${e.instancePath || "(root)"} ${e.message}${e.params && Object.keys(e.params).length ? " " + JSON.stringify(e.params) : ""} [${e.schemaPath.replace(`${SCHEMA_BASE}#/$defs/`, "#/components/schemas/")}]`)
    .join("\n");
}

/** The `status` strings an envelope schema (through `$ref`, `oneOf`, `anyOf`, `allOf`) allows. */
function envelopeStatuses(api, schema, out = new Set()) {
  schema = api.deref(schema);
  if (!schema || typeof schema !== "object") return out;
  const s = schema.properties?.status;
  if (s?.const !== undefined) out.add(s.const);
  for (const v of s?.enum ?? []) out.add(v);
  for (const k of ["oneOf", "anyOf", "allOf"]) for (const sub of schema[k] ?? []) envelopeStatuses(api, sub, out);
  return out;
}

/**
 * The problems of `result` ({status, headers, buf}) against one documented `response`
 * (empty array = it matches). `method` is used for HEAD (headers only).
 */
export function openApiProblems(api, response, result, method = "GET") {
  const problems = [];
  for (const [name, h] of Object.entries(response.headers ?? {})) {
    const header = api.deref(h);
    const value = result.headers.get(name);
    if (value === null) {
      if (header.required) problems.push(`required header ${name} is missing`);
      continue;
    }
    if (header.schema) {
      const validate = api.validator(header.schema);
      if (!validate(value)) problems.push(`header ${name}: ${JSON.stringify(value)} does not match its schema:\n${describeErrors(validate.errors)}`);
    }
  }
  const buf = result.buf ?? Buffer.alloc(0);
  const content = response.content ?? {};
  if (buf.length === 0) {
    const jsonDocumented = Object.keys(content).some((t) => t === "application/json");
    if (jsonDocumented && method !== "HEAD") problems.push("an envelope was documented but the body is empty");
    return problems;
  }
  const essence = (result.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
  const media = content[essence];
  if (!media) {
    problems.push(`body of type ${JSON.stringify(essence)} is not documented (documented: ${Object.keys(content).join(", ") || "no body"})`);
    return problems;
  }
  if (essence === "application/json") {
    let body;
    try {
      body = JSON.parse(buf.toString("utf8"));
    } catch {
      problems.push(`body is not JSON: ${buf.toString("utf8").slice(0, 200)}`);
      return problems;
    }
    if (media.schema) {
      const validate = api.validator(media.schema);
      if (!validate(body)) {
        // For a oneOf of envelopes, report against the branch(es) documented for this `status`.
        const branches = (api.deref(media.schema).oneOf ?? []).filter((b) => envelopeStatuses(api, b).has(body?.status));
        if (branches.length) {
          for (const b of branches) {
            const v = api.validator(b);
            if (!v(body)) problems.push(`body does not match the ${JSON.stringify(body.status)} envelope ${b.$ref ?? ""}:\n${describeErrors(v.errors)}`);
          }
        } else {
          problems.push(`body does not match the documented schema (status ${JSON.stringify(body?.status)} is not one documented here):\n${describeErrors(validate.errors)}`);
        }
      }
    }
  }
  return problems;
}

/**
 * Fails (AssertionError) unless `result` is a response openapi.yaml documents for `request`
 * ({method, url}); see the section comment. Without a request: any documented response for its code.
 * `api` (from loadOpenApi) defaults to the project's openapi.yaml.
 */
export async function assertMatchesOpenApi(result, request, api = contract()) {
  const text = () => (result.buf ?? Buffer.alloc(0)).toString("utf8").slice(0, 400);
  openApiStats.checked++;
  if ((result.headers.get("content-type") ?? "").startsWith("application/json")) openApiStats.jsonBodies++;
  if (request) {
    const pathname = new URL(request.url, BASE).pathname;
    const { where, response, opKey } = api.findResponse(request.method, pathname, result.status);
    openApiStats.byOperation[`${opKey} ${result.status}`] = (openApiStats.byOperation[`${opKey} ${result.status}`] ?? 0) + 1;
    if (!response) assert.fail(`openapi.yaml: HTTP ${result.status} is not documented for ${where}; body: ${text()}`);
    const problems = openApiProblems(api, response, result, request.method);
    if (problems.length) assert.fail(`openapi.yaml: the response to ${request.method} ${pathname} does not match ${where}:\n${problems.join("\n")}\nbody: ${text()}`);
    return;
  }
  const candidates = api.responsesFor(result.status);
  openApiStats.byOperation[`(unknown request) ${result.status}`] = (openApiStats.byOperation[`(unknown request) ${result.status}`] ?? 0) + 1;
  if (!candidates.length) assert.fail(`openapi.yaml documents no HTTP ${result.status} response; body: ${text()}`);
  const failures = candidates.map(({ where, response }) => ({ where, problems: openApiProblems(api, response, result, "GET") }));
  if (failures.some((f) => f.problems.length === 0)) return;
  assert.fail(`openapi.yaml: the HTTP ${result.status} response matches no documented response:\n${failures.map((f) => `${f.where}:\n${f.problems.join("\n")}`).join("\n")}\nbody: ${text()}`);
}

if (process.env.OPENAPI_STATS) {
  process.on("exit", () => process.stderr.write(`openapi checks: ${JSON.stringify(openApiStats)}\n`));
}

// ---------------------------------------------------------------------------------------------
// Assertions
// ---------------------------------------------------------------------------------------------

/** Asserts the envelope headers and body shape shared by every API response. */
export function assertEnvelope(r) {
  assert.equal(r.headers.get("content-type"), "application/json; charset=utf-8", `content-type of ${r.text}`);
  assert.equal(r.headers.get("cache-control"), "no-store");
  const rid = r.headers.get("x-request-id");
  assert.ok(rid && rid.length > 0, "X-Request-Id header present");
  assert.ok(r.body && typeof r.body === "object" && !Array.isArray(r.body), `JSON object body, got: ${r.text.slice(0, 300)}`);
  assert.equal(typeof r.body.status, "string");
  assert.equal(typeof r.body.message, "string");
}

/** Asserts HTTP status, envelope and `status` string; returns the parsed body. */
export function expectStatus(r, http, status) {
  assert.equal(
    `${r.status} ${r.body?.status}`,
    `${http} ${status}`,
    `expected ${http} ${status}, got ${r.status}: ${r.text.slice(0, 500)}`,
  );
  assertEnvelope(r);
  return r.body;
}

export const SESSION_KEYS = ["created_at", "expires_at", "id", "last_used_at", "remember_me", "token", "user_id"];
export const ITEM_KEYS = [
  "active", "created_at", "default", "description", "external_id", "id", "image", "image_url",
  "item_id", "item_type", "key", "name", "notes", "slug", "updated_at", "value",
];
export const IMAGE_KEYS = ["bytes", "content_type", "height", "key", "sha256", "width"];

export function isRfc3339(s) {
  return typeof s === "string" && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i.test(s) && !Number.isNaN(Date.parse(s));
}

/** Asserts the default session view for a seeded session. */
export function assertSession(session, seeded) {
  assert.ok(session && typeof session === "object", "session object present");
  assert.deepEqual(Object.keys(session).sort(), SESSION_KEYS);
  assert.equal(session.id, seeded.sessionId);
  assert.equal(session.user_id, seeded.userId);
  assert.equal(session.token, seeded.token);
  assert.equal(session.remember_me, seeded.remember_me ?? false);
  assert.ok(isRfc3339(session.created_at), `created_at ${session.created_at}`);
  assert.ok(isRfc3339(session.last_used_at), `last_used_at ${session.last_used_at}`);
  if (session.remember_me) assert.equal(session.expires_at, null);
  else assert.ok(isRfc3339(session.expires_at), `expires_at ${session.expires_at}`);
}

/** For an error case: no object under the item's prefix and the D1 row equals `beforeRow`. */
export async function assertNothingStored(ctx, id, beforeRow) {
  const objects = await ctx.listItemObjects(id);
  assert.deepEqual(objects.map((o) => o.key), [], "no R2 object for the item");
  await assertOnlyItemObjects(ctx);
  assert.deepEqual(await ctx.getRow(id), beforeRow, "D1 row unchanged");
}

/** Every image is written once, straight to its final key (API.md §4): nothing outside
 * `list_items/` (no staging prefix) ever exists. */
export async function assertOnlyItemObjects(ctx) {
  const all = (await ctx.bucket.list()).objects.map((o) => o.key);
  assert.deepEqual(all.filter((key) => !key.startsWith("list_items/")), [], "no object outside list_items/");
}

/**
 * For a 200: checks the envelope, session, item data, R2 object (bytes, metadata) and D1 row.
 * `expected`: { id, seeded, source (Buffer served), sourceUrl, contentType, ext, width, height }.
 * Returns the body.
 */
export async function assertStored(ctx, r, expected) {
  const { id, seeded, source, sourceUrl, contentType = "image/png", ext = "png", width = 64, height = 48 } = expected;
  const body = expectStatus(r, 200, "action-successful");
  assertSession(body.session, seeded);
  const data = body.data;
  assert.deepEqual(Object.keys(data).sort(), ITEM_KEYS);
  assert.equal(data.id, id);
  assert.equal(data.key, `item-${id}`);
  assert.equal(data.slug, `item-${id}`);
  assert.equal(data.name, `Item ${id}`);
  assert.equal(typeof data.active, "boolean");
  assert.equal(typeof data.default, "boolean");
  assert.equal(data.active, true);
  assert.equal(data.default, false);
  const img = data.image;
  assert.ok(img && typeof img === "object", "data.image present");
  assert.deepEqual(Object.keys(img).sort(), IMAGE_KEYS);
  assert.match(img.key, new RegExp(`^list_items/${id}/[0-9a-f]{32}\\.${ext}$`));
  assert.equal(img.content_type, contentType);
  assert.equal(img.width, width);
  assert.equal(img.height, height);
  assert.equal(img.bytes, source.length);
  const digest = sha256(source);
  assert.equal(img.sha256, digest);
  assert.equal(data.image_url, `${BASE}/images/${img.key}`);

  const obj = await ctx.bucket.get(img.key);
  assert.ok(obj, `R2 object ${img.key} exists`);
  const stored = Buffer.from(await obj.arrayBuffer());
  assert.equal(sha256(stored), digest, "stored bytes identical to the origin's");
  assert.equal(obj.httpMetadata?.contentType, contentType);
  // §4: what is known when the write starts; what the bytes prove lives in D1 and data.image.
  const meta = obj.customMetadata ?? {};
  const expectedMeta = { list_item_id: String(id), user_id: String(seeded.userId) };
  if (sourceUrl) expectedMeta.source_url = sourceUrl;
  else if (expected.direct) expectedMeta.upload = "direct";
  else expectedMeta.source_url = meta.source_url;
  assert.deepEqual(meta, expectedMeta, "R2 custom metadata");
  const objects = (await ctx.listItemObjects(id)).map((o) => o.key);
  assert.deepEqual(objects, [img.key], "exactly one object for the item, at its final key");
  await assertOnlyItemObjects(ctx);

  const row = await ctx.getRow(id);
  assert.equal(row.image_key, img.key);
  assert.equal(row.image_content_type, contentType);
  assert.equal(row.image_width, width);
  assert.equal(row.image_height, height);
  assert.equal(row.image_bytes, source.length);
  assert.equal(row.image_sha256, digest);
  assert.equal(row.image_url, data.image_url);
  return body;
}

/** Seeds session + item, routes url, PUTs, asserts invalid-url with `reason` and nothing stored. */
export async function expectInvalidUrl(ctx, { url, handler, reason, routes = {} }) {
  const p = await ctx.prepare({ url, handler });
  for (const [u, h] of Object.entries(routes)) ctx.origin.route(u, h);
  const before = await ctx.getRow(p.id);
  const r = await ctx.put({ token: p.token, id: p.id, image_url: url });
  const body = expectStatus(r, 400, "invalid-url");
  assert.ok(body.data && typeof body.data === "object", "data present");
  if (Array.isArray(reason)) assert.ok(reason.includes(body.data.reason), JSON.stringify(body.data));
  else if (reason !== undefined) assert.equal(body.data.reason, reason, JSON.stringify(body.data));
  else assert.ok(typeof body.data.reason === "string" && body.data.reason.length > 0);
  await assertNothingStored(ctx, p.id, before);
  assert.equal(ctx.origin.unexpected().length, 0, "no unexpected outbound request");
  return { p, body };
}

/** Seeds session + item, routes url, PUTs, asserts the image was stored (see assertStored). */
export async function expectStoredFrom(ctx, { url, handler, source, routes = {}, ...rest }) {
  const p = await ctx.prepare({ url, handler });
  for (const [u, h] of Object.entries(routes)) ctx.origin.route(u, h);
  const r = await ctx.put({ token: p.token, id: p.id, image_url: url });
  return assertStored(ctx, r, { id: p.id, seeded: p, source, ...rest });
}

// ---------------------------------------------------------------------------------------------
// Image byte surgery (for corrupt / malformed fixtures derived from the real ones)
// ---------------------------------------------------------------------------------------------

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Splits a PNG into [{type, data}] chunks (after the 8-byte signature). */
export function pngChunks(png) {
  const out = [];
  let off = 8;
  while (off + 12 <= png.length) {
    const len = png.readUInt32BE(off);
    out.push({ type: png.toString("latin1", off + 4, off + 8), data: Buffer.from(png.subarray(off + 8, off + 8 + len)) });
    off += 12 + len;
  }
  return out;
}

/** Builds a PNG from chunks with correct lengths and CRCs. */
export function buildPng(chunks) {
  const parts = [Buffer.from([137, 80, 78, 71, 13, 10, 26, 10])];
  for (const { type, data } of chunks) {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(data.length, 0);
    head.write(type, 4, "latin1");
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([Buffer.from(type, "latin1"), data])), 0);
    parts.push(head, data, crc);
  }
  return Buffer.concat(parts);
}
