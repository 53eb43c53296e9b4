// Floor workers for benchmarks (never deployed): the least work that moves an origin body into
// R2. `?passthrough=1` adds an identity TransformStream, i.e. what merely surfacing the bytes to
// user code costs. Body: {"url": "...", "key": "..."}.
export default {
  async fetch(request, env) {
    const { url, key } = await request.json();
    const origin = await fetch(url);
    const length = Number(origin.headers.get("content-length"));
    let body = origin.body;
    if (new URL(request.url).searchParams.get("passthrough")) body = body.pipeThrough(new TransformStream());
    const { readable, writable } = new FixedLengthStream(length);
    const [object] = await Promise.all([env.IMAGES.put(key, readable), body.pipeTo(writable)]);
    return Response.json({ key, size: object.size });
  },
};
