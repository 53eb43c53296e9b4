//! Small glue to the Workers runtime: vars, clock, randomness, request body.

use futures_util::StreamExt;
use wasm_bindgen::JsValue;
use worker::{Env, Request};

use crate::api::params::MAX_BODY_BYTES;
use crate::auth::time::Timestamp;

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = URL)]
    type JsUrl;
    #[wasm_bindgen(constructor, js_class = "URL", catch)]
    fn new(url: &str) -> Result<JsUrl, JsValue>;
    #[wasm_bindgen(method, getter, js_class = "URL")]
    fn href(this: &JsUrl) -> String;
}

/// The runtime's WHATWG URL serialization of `raw`: international hostnames in punycode,
/// non-ASCII path and query percent-encoded. Lets the wasm leave out the IDNA tables
/// (`idna_adapter` is pinned to its no-Unicode 1.0 in Cargo.lock, ~45 KB gzipped less).
pub fn ascii_url(raw: &str) -> Option<String> {
    JsUrl::new(raw).ok().map(|url| url.href())
}

pub enum VarValue {
    Missing,
    Text(String),
    /// A var of another JSON type (wrangler.toml allows numbers, tables, arrays).
    Other(JsValue),
}

pub fn var(env: &Env, name: &str) -> VarValue {
    match js_sys::Reflect::get(env.as_ref(), &JsValue::from_str(name)) {
        Ok(value) if value.is_undefined() || value.is_null() => VarValue::Missing,
        Ok(value) => match value.as_string() {
            Some(text) => VarValue::Text(text),
            None => VarValue::Other(value),
        },
        Err(_) => VarValue::Missing,
    }
}

/// Vars read as numbers: a TOML number and its string spelling mean the same.
pub fn scalar_var(env: &Env, name: &str) -> Option<String> {
    match var(env, name) {
        VarValue::Missing => None,
        VarValue::Text(text) => Some(text),
        VarValue::Other(value) => Some(match value.as_f64() {
            // Integral numbers (every limit) as integers: float formatting costs the wasm ~14 KB.
            Some(number) if number.fract() == 0.0 && number.abs() < 1e15 => (number as i64).to_string(),
            _ => format!("{value:?}"),
        }),
    }
}

pub fn now() -> Timestamp {
    Timestamp::from_unix_ms(js_sys::Date::now() as i64)
}

pub fn now_ms() -> f64 {
    js_sys::Date::now()
}

pub fn random_hex(bytes: usize) -> Result<String, String> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| format!("getrandom failed: {e}"))?;
    Ok(hex::encode(buf))
}

/// The request body, read no further than one byte past the cap (the decoder rejects it).
pub async fn read_capped_body(req: &mut Request) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    let Ok(mut stream) = req.stream() else { return Ok(body) };
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| format!("reading request body failed: {e}"))?;
        body.extend_from_slice(&chunk);
        if body.len() > MAX_BODY_BYTES {
            break;
        }
    }
    Ok(body)
}
