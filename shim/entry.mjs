// The deployed entry point: the Rust worker built by worker-build, with the crash envelope.
import RustWorker from "../build/index.js";
import { withCrashEnvelope } from "./crash_envelope.mjs";

export default withCrashEnvelope(RustWorker);
