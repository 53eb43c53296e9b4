// Floor workers for benchmarks (never deployed): the least work that moves an origin body into
// R2. Body: {"url": "...", "key": "...", "tokenHash": "<sha256 hex of the session token>"}; query:
// - (nothing): "bare". With a Content-Length (and no content coding): the origin body `pipeTo` a
//   `FixedLengthStream` into one R2 put. Without one (chunked, or gzip, which the runtime decodes):
//   the least R2 accepts for a body of unknown length with bounded memory, i.e. what the worker
//   does too: the body read with a BYOB reader (`readAtLeast`) straight into 5 MiB JS parts; one
//   put if it ends within the first part, else a multipart upload, each part uploaded once a
//   further read (of up to 256 KiB, copied to the start of the next part) shows it is not the last.
// - `?direct=1&key=K` (a PUT whose body is the image, as API.md §7's direct upload): the request
//   body stored the bare way under K, to compare the worker's direct uploads with.
// - `?passthrough=1`: an identity JS `TransformStream` in the body's path, i.e. what merely
//   surfacing the bytes to user code costs. Without a length its chunks are copied into the
//   parts (a TransformStream's readable has no BYOB reader).
// - `?ops=kv,d1,delete,log` (any subset, in any order; `pipe=0` skips the image): the per-request
//   binding calls the worker makes around the image, done the way the worker does them, to show
//   where a small upload's fixed cost goes. kv: the session and its activity record (one bulk
//   get of both keys), then the user; d1: `SELECT *` of the list item before the image, `UPDATE ... RETURNING *`
//   after it; delete: the item's previous object deleted (each upload then goes to a new key, as the
//   worker's do); log: one JSON line of the worker's request-log size through console.log.
const PART = 5 * 1024 * 1024;
const PEEK = 256 * 1024;
/** lane → the key of its last object (what the list item points at), for `delete`. */
const lastKeys = new Map();

export default {
  async fetch(request, env) {
    const params = new URL(request.url).searchParams;
    if (params.has("direct")) {
      const object = await putBody(env.IMAGES, params.get("key"), request.body, request.headers.get("content-length"));
      return Response.json({ key: object.key, size: object.size });
    }
    const { url, key, tokenHash } = await request.json();
    const ops = new Set((params.get("ops") ?? "").split(",").filter(Boolean));
    const lane = key;
    if (ops.has("kv")) {
      const found = await env.SESSIONS.get([`session:${tokenHash}`, `session_seen:${tokenHash}`]);
      await env.SESSIONS.get(`user:${JSON.parse(found.get(`session:${tokenHash}`)).user_id}`);
    }
    const id = (Number(lane.split("/").pop()) % 8) + 1;
    let previous = lastKeys.get(lane) ?? null;
    if (ops.has("d1")) {
      const row = await env.DB.prepare("SELECT * FROM list_items WHERE id = ?1").bind(String(id)).first();
      previous = row?.image_key ?? previous;
    }
    // A new key per upload when the old one is deleted, as the worker does; else one per lane.
    const objectKey = ops.has("delete") ? `${key}/${crypto.randomUUID()}` : key;
    let size = 0;
    if (params.get("pipe") !== "0") {
      const origin = await fetch(url);
      const coded = (origin.headers.get("content-encoding") ?? "identity").toLowerCase() !== "identity";
      const length = coded ? null : origin.headers.get("content-length");
      let body = origin.body;
      const passthrough = Boolean(params.get("passthrough"));
      if (passthrough) body = body.pipeThrough(new TransformStream());
      const object = passthrough && length === null ? await putChunks(env.IMAGES, objectKey, body) : await putBody(env.IMAGES, objectKey, body, length);
      size = object.size;
    }
    if (ops.has("d1")) {
      await env.DB.prepare(
        "UPDATE list_items SET image_url = ?1, image_key = ?2, image_content_type = ?3, image_width = ?4, image_height = ?5, " +
          "image_bytes = ?6, image_sha256 = ?7, updated_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE id = ?8 AND image_key IS ?9 RETURNING *",
      )
        .bind(`https://bench/images/${objectKey}`, objectKey, "image/png", 100, 100, size, "0".repeat(64), String(id), previous)
        .first();
    }
    if (ops.has("delete") && previous && previous !== objectKey) await env.IMAGES.delete(previous);
    lastKeys.set(lane, objectKey);
    if (ops.has("log")) {
      console.log(JSON.stringify({ request_id: crypto.randomUUID(), method: "PUT", route: "list_items/upload_image", status: "action-successful",
        http_status: 200, user_id: 1, list_item_id: id, bytes: size, streamed: true, fetch_validate_ms: 1, r2_ms: 1, d1_ms: 1, total_ms: 3 }));
    }
    return Response.json({ key: objectKey, size });
  },
};

/** The bare way to store `body`: with a `length`, piped into one put; without, BYOB parts. */
async function putBody(bucket, key, body, length) {
  if (length === null) return putPieces(bucket, key, body);
  const { readable, writable } = new FixedLengthStream(Number(length));
  const [object] = await Promise.all([bucket.put(key, readable), body.pipeTo(writable)]);
  return object;
}

/** One read of up to `view`'s length (fewer only at the end); its buffer is transferred. */
async function fill(reader, view) {
  const { value } = await reader.readAtLeast(view.byteLength, view);
  return value ?? new Uint8Array(0);
}

/** Unknown length, bare: BYOB reads straight into 5 MiB parts. */
async function putPieces(bucket, key, body) {
  const reader = body.getReader({ mode: "byob" });
  let part = await fill(reader, new Uint8Array(PART));
  if (part.byteLength < PART) return bucket.put(key, part);
  let peek = await fill(reader, new Uint8Array(PEEK));
  if (peek.byteLength === 0) return bucket.put(key, part);
  const upload = await bucket.createMultipartUpload(key);
  const parts = [];
  while (true) {
    parts.push(await upload.uploadPart(parts.length + 1, part));
    if (peek.byteLength === 0) return upload.complete(parts);
    const next = new Uint8Array(PART);
    next.set(peek);
    const rest = await fill(reader, next.subarray(peek.byteLength));
    part = new Uint8Array(rest.buffer, 0, peek.byteLength + rest.byteLength);
    peek = part.byteLength === PART ? await fill(reader, new Uint8Array(PEEK)) : new Uint8Array(0);
  }
}

/** Unknown length, pass-through: the TransformStream's chunks copied into 5 MiB parts. */
async function putChunks(bucket, key, body) {
  const reader = body.getReader();
  let part = new Uint8Array(PART);
  let filled = 0;
  let upload = null;
  const parts = [];
  while (true) {
    const { value, done } = await reader.read();
    if (done) break;
    for (let offset = 0; offset < value.byteLength; ) {
      if (filled === PART) {
        upload ??= await bucket.createMultipartUpload(key);
        parts.push(await upload.uploadPart(parts.length + 1, part));
        part = new Uint8Array(PART);
        filled = 0;
      }
      const take = Math.min(PART - filled, value.byteLength - offset);
      part.set(value.subarray(offset, offset + take), filled);
      filled += take;
      offset += take;
    }
  }
  if (!upload) return bucket.put(key, part.subarray(0, filled));
  parts.push(await upload.uploadPart(parts.length + 1, part.subarray(0, filled)));
  return upload.complete(parts);
}
