// A panic in Rust aborts the wasm call and surfaces here as an exception; workers-rs then
// re-initialises the instance for the next request. This wrapper makes that request still get
// the platform's envelope (API.md §2: "panics included") instead of workerd's bare 500.

const CRASH_BODY = JSON.stringify({
  status: "application-crash",
  message: "An internal error occurred; please try again later.",
  data: {},
});

export function crashResponse(request) {
  const given = request.headers.get("x-request-id");
  const requestId = given && /^[A-Za-z0-9._:-]{1,128}$/.test(given) ? given : crypto.randomUUID().replaceAll("-", "");
  return new Response(CRASH_BODY, {
    status: 500,
    headers: {
      "content-type": "application/json; charset=utf-8",
      "cache-control": "no-store",
      "x-request-id": requestId,
    },
  });
}

/** Subclass a WorkerEntrypoint so an exception thrown by `fetch` becomes an envelope. */
export function withCrashEnvelope(Entrypoint) {
  return class extends Entrypoint {
    async fetch(request) {
      try {
        return await super.fetch(request);
      } catch (error) {
        const response = crashResponse(request);
        // The Rust side's request log line never ran: this one stands in for it, same id and status.
        console.error(JSON.stringify({
          event: "unhandled-exception",
          request_id: response.headers.get("x-request-id"),
          method: request.method,
          status: "application-crash",
          http_status: 500,
          error: String(error?.stack ?? error),
        }));
        return response;
      }
    }
  };
}
