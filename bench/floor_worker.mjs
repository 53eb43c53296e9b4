// Floor workers for benchmarks (never deployed): the least work that moves an origin body into
// R2. `?passthrough=1` adds an identity TransformStream, i.e. what merely surfacing the bytes to
// user code costs. `?copy=1` (with passthrough) then copies the object to a second key with new
// metadata and deletes the first: the R2 work API.md §4 forces on a streamed upload, whose sha256
// metadata is known only after the last byte. Body: {"url": "...", "key": "..."}.
export default {
  async fetch(request, env) {
    const { url, key } = await request.json();
    const params = new URL(request.url).searchParams;
    const origin = await fetch(url);
    const length = Number(origin.headers.get("content-length"));
    let body = origin.body;
    if (params.get("passthrough")) body = body.pipeThrough(new TransformStream());
    const { readable, writable } = new FixedLengthStream(length);
    const staged = params.get("copy") ? `${key}.staging` : key;
    const [object] = await Promise.all([env.IMAGES.put(staged, readable), body.pipeTo(writable)]);
    if (staged === key) return Response.json({ key, size: object.size });
    const copied = await env.IMAGES.put(key, (await env.IMAGES.get(staged)).body, { customMetadata: { sha256: "0".repeat(64) } });
    await env.IMAGES.delete(staged);
    return Response.json({ key, size: copied.size });
  },
};
