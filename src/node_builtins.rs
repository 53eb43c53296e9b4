//! The runtime's native CRC-32 (node:zlib) and SHA-256 (node:crypto), reached through
//! `process.getBuiltinModule` (the `nodejs_compat` flag in wrangler.toml).
//!
//! Both read bytes where they already are, in wasm memory, through a view (no copy), and are
//! synchronous: no stream, no promise per piece. In wasm the CRC tables run at 1.5–2.6 GB/s
//! and sha2 at ~0.4 GB/s; natively both are several times faster (BENCHMARKS.md). Without
//! the flag the worker stays correct: the validator keeps its tables and images are hashed
//! by sha2 in wasm.

use js_sys::{Reflect, Uint8Array};
use sha2::Digest;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

use crate::image::accelerate_crc32;
use crate::streams::describe;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(catch, js_namespace = process, js_name = getBuiltinModule)]
    fn get_builtin_module(name: &str) -> Result<JsValue, JsValue>;

    type Zlib;
    #[wasm_bindgen(method)]
    fn crc32(this: &Zlib, data: &Uint8Array, value: u32) -> u32;

    type NodeCrypto;
    #[wasm_bindgen(catch, method, js_name = createHash)]
    fn create_hash(this: &NodeCrypto, algorithm: &str) -> Result<NodeHash, JsValue>;

    type NodeHash;
    #[wasm_bindgen(catch, method)]
    fn update(this: &NodeHash, data: &Uint8Array) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch, method)]
    fn digest(this: &NodeHash, encoding: &str) -> Result<String, JsValue>;
}

thread_local! {
    static ZLIB: Option<Zlib> = builtin("node:zlib", "crc32");
    static CRYPTO: Option<NodeCrypto> = builtin("node:crypto", "createHash");
}

/// The module `name`, if the runtime has it and it has `function`.
fn builtin<T: JsCast>(name: &str, function: &str) -> Option<T> {
    let module = get_builtin_module(name).ok().filter(JsValue::is_object)?;
    let found = Reflect::get(&module, &JsValue::from_str(function)).ok()?.is_function();
    found.then(|| module.unchecked_into())
}

/// `f` given a view of `bytes`, which it must only read synchronously: a view of wasm memory
/// is valid until the next allocation, and nothing allocates during a native call.
fn with_view<R>(bytes: &[u8], f: impl FnOnce(&Uint8Array) -> R) -> R {
    // SAFETY: the view does not outlive `f`, and `f` only passes it to a synchronous native
    // call that reads it and returns.
    let view = unsafe { Uint8Array::view(bytes) };
    f(&view)
}

/// Hands node:zlib's CRC-32 to the PNG validator, or says once, in the log, that the
/// runtime lacks the builtins (a deployment without `nodejs_compat`).
pub fn accelerate() {
    if ZLIB.with(Option::is_some) {
        accelerate_crc32(native_crc32);
    }
    if ZLIB.with(Option::is_none) || CRYPTO.with(Option::is_none) {
        worker::console_warn!("{MISSING}");
    }
}

/// The warning of a runtime without node:zlib or node:crypto.
const MISSING: &str = "node:zlib or node:crypto is missing (no nodejs_compat flag?): PNG CRCs and image SHA-256 run in wasm, several times slower";

fn native_crc32(crc: u32, bytes: &[u8]) -> Option<u32> {
    ZLIB.with(|zlib| zlib.as_ref().map(|zlib| with_view(bytes, |view| zlib.crc32(view, crc))))
}

/// The SHA-256 of an image, fed its pieces as they pass through wasm.
pub struct Sha256(Hasher);

enum Hasher {
    Native(NodeHash),
    Wasm(sha2::Sha256),
}

impl Default for Sha256 {
    fn default() -> Self {
        let native = CRYPTO.with(|crypto| crypto.as_ref().and_then(|crypto| crypto.create_hash("sha256").ok()));
        Sha256(native.map_or_else(|| Hasher::Wasm(sha2::Sha256::new()), Hasher::Native))
    }
}

impl Sha256 {
    pub fn update(&mut self, bytes: &[u8]) -> Result<(), String> {
        match &mut self.0 {
            Hasher::Native(hash) => with_view(bytes, |view| hash.update(view)).map(drop).map_err(describe),
            Hasher::Wasm(hash) => {
                hash.update(bytes);
                Ok(())
            }
        }
    }

    /// The lowercase hex digest; the hash starts over afterwards.
    pub fn finish(&mut self) -> Result<String, String> {
        match std::mem::replace(&mut self.0, Hasher::Wasm(sha2::Sha256::new())) {
            Hasher::Native(hash) => hash.digest("hex").map_err(describe),
            Hasher::Wasm(hash) => Ok(hex::encode(hash.finalize())),
        }
    }
}
