// A worker whose fetch throws, as a Rust panic surfaces in JS, wrapped by the real shim.
import { WorkerEntrypoint } from "cloudflare:workers";
import { withCrashEnvelope } from "../../shim/crash_envelope.mjs";

class Throwing extends WorkerEntrypoint {
  async fetch() {
    throw new WebAssembly.RuntimeError("unreachable executed: internal secret detail");
  }
}

export default withCrashEnvelope(Throwing);
