//! The runtime's native CRC-32 (node:zlib) and SHA-256 (node:crypto), reached through
//! `process.getBuiltinModule` (the `nodejs_compat` flag in wrangler.toml).
//!
//! Both read bytes where they already are, in wasm memory, and are synchronous: no copy, no
//! stream, no promise per piece. In wasm the CRC tables run at 1.5–2.6 GB/s and sha2 at
//! ~0.4 GB/s; natively both are several times faster (BENCHMARKS.md). Without the flag the
//! worker stays correct: the validator keeps its tables and images are hashed by sha2 in wasm.
//!
//! The view of wasm memory each call reads is made in JS, inside the call (the `inline_js`
//! helpers below), never handed to wasm: a view wasm holds must be stored in its table of JS
//! references, which can allocate, grow memory and detach the buffer under the view before the
//! call reads it.

use std::sync::Once;

use js_sys::Reflect;
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
    type NodeCrypto;
    #[wasm_bindgen(catch, method, js_name = createHash)]
    fn create_hash(this: &NodeCrypto, algorithm: &str) -> Result<NodeHash, JsValue>;
    type NodeHash;
    #[wasm_bindgen(catch, method)]
    fn digest(this: &NodeHash, encoding: &str) -> Result<String, JsValue>;
}

// `memory` is the wasm memory (`wasm_bindgen::memory()`); `at`, `len` a range of it.
#[wasm_bindgen(inline_js = "
export function crc32Of(zlib, memory, at, len, crc) { return zlib.crc32(new Uint8Array(memory.buffer, at, len), crc); }
export function hashUpdate(hash, memory, at, len) { hash.update(new Uint8Array(memory.buffer, at, len)); }
")]
extern "C" {
    #[wasm_bindgen(catch, js_name = crc32Of)]
    fn crc32_of(zlib: &Zlib, memory: &JsValue, at: u32, len: u32, crc: u32) -> Result<u32, JsValue>;
    #[wasm_bindgen(catch, js_name = hashUpdate)]
    fn hash_update(hash: &NodeHash, memory: &JsValue, at: u32, len: u32) -> Result<(), JsValue>;
}

thread_local! {
    static ZLIB: Option<Zlib> = builtin("node:zlib", "crc32");
    static CRYPTO: Option<NodeCrypto> = builtin("node:crypto", "createHash");
    static MEMORY: JsValue = wasm_bindgen::memory();
}

/// The module `name`, if the runtime has it and it has `function`.
fn builtin<T: JsCast>(name: &str, function: &str) -> Option<T> {
    let module = get_builtin_module(name).ok().filter(JsValue::is_object)?;
    let found = Reflect::get(&module, &JsValue::from_str(function)).ok()?.is_function();
    found.then(|| module.unchecked_into())
}

/// `f(memory, at, len)` for the range of wasm memory `bytes` occupies (wasm32: addresses and
/// lengths fit in u32).
fn in_memory<R>(bytes: &[u8], f: impl FnOnce(&JsValue, u32, u32) -> R) -> R {
    MEMORY.with(|memory| f(memory, bytes.as_ptr() as u32, bytes.len() as u32))
}

/// Once per isolate: hands node:zlib's CRC-32 to the PNG validator, or says in the log that
/// the runtime lacks the builtins (a deployment without `nodejs_compat`).
pub fn accelerate() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let has_zlib = ZLIB.with(Option::is_some);
        if has_zlib {
            accelerate_crc32(native_crc32);
        }
        if !has_zlib || CRYPTO.with(Option::is_none) {
            worker::console_warn!("{MISSING}");
        }
    });
}

/// The warning of a runtime without node:zlib or node:crypto.
const MISSING: &str = "node:zlib or node:crypto is missing (no nodejs_compat flag?): PNG CRCs and image SHA-256 run in wasm, several times slower";

/// `None` (the tables take the run) if the call throws.
fn native_crc32(crc: u32, bytes: &[u8]) -> Option<u32> {
    ZLIB.with(|zlib| in_memory(bytes, |memory, at, len| crc32_of(zlib.as_ref()?, memory, at, len, crc).ok()))
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
            Hasher::Native(hash) => in_memory(bytes, |memory, at, len| hash_update(hash, memory, at, len)).map_err(describe),
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
