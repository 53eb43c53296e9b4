//! The runtime's KV, D1 and Rate Limiting bindings, called as they are.
//!
//! The `worker` crate's wrappers pass every option and row through `serde_wasm_bindgen`, which
//! with the float formatting its errors link costs the wasm ~8 KB gzipped (API.md's size budget
//! is 200 KB). Rows come back as JSON text and are read with `serde_json`, which the worker
//! links anyway.

use js_sys::{Array, Object, Promise, Reflect};
use serde::de::DeserializeOwned;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use worker::wasm_bindgen_futures::JsFuture;
use worker::Env;

use crate::streams::describe;

#[wasm_bindgen]
extern "C" {
    /// A Workers KV namespace.
    #[derive(Clone)]
    pub type Kv;
    #[wasm_bindgen(method, catch, js_name = get)]
    fn get_text(this: &Kv, key: &str) -> Result<Promise, JsValue>;
    #[wasm_bindgen(method, catch, js_name = get)]
    fn get_texts(this: &Kv, keys: &Array) -> Result<Promise, JsValue>;
    #[wasm_bindgen(method, catch, js_name = put)]
    fn put_text(this: &Kv, key: &str, value: &str, options: &Object) -> Result<Promise, JsValue>;
    #[wasm_bindgen(method, catch, js_name = delete)]
    fn delete_key(this: &Kv, key: &str) -> Result<Promise, JsValue>;

    /// A D1 database.
    pub type D1;
    #[wasm_bindgen(method, catch)]
    fn prepare(this: &D1, sql: &str) -> Result<D1Statement, JsValue>;
    type D1Statement;
    #[wasm_bindgen(method, catch, variadic)]
    fn bind(this: &D1Statement, values: &Array) -> Result<D1Statement, JsValue>;
    #[wasm_bindgen(method, catch)]
    fn first(this: &D1Statement) -> Result<Promise, JsValue>;
    #[wasm_bindgen(method, catch)]
    fn all(this: &D1Statement) -> Result<Promise, JsValue>;

    /// A Workers Rate Limiting binding.
    pub type Limiter;
    #[wasm_bindgen(method, catch)]
    fn limit(this: &Limiter, options: &Object) -> Result<Promise, JsValue>;
}

/// The binding `name` of `env`, `None` when the deployment has none.
pub fn binding<T: JsCast>(env: &Env, name: &str) -> Option<T> {
    let value = Reflect::get(env.as_ref(), &JsValue::from_str(name)).ok()?;
    (!value.is_undefined() && !value.is_null()).then(|| value.unchecked_into())
}

/// A binding call's promise, settled; a throw or a rejection as text.
pub async fn settle(promise: Result<Promise, JsValue>) -> Result<JsValue, String> {
    JsFuture::from(promise.map_err(describe)?).await.map_err(describe)
}

/// A plain JS object of `entries` (binding options).
pub fn object(entries: &[(&str, JsValue)]) -> Result<Object, String> {
    let object = Object::new();
    for (name, value) in entries {
        Reflect::set(&object, &JsValue::from_str(name), value).map_err(describe)?;
    }
    Ok(object)
}

/// A JS value read as `T` through its JSON text.
fn from_js<T: DeserializeOwned>(value: &JsValue) -> Result<T, String> {
    let text = js_sys::JSON::stringify(value).map_err(describe)?;
    serde_json::from_str(&String::from(text)).map_err(|e| e.to_string())
}

impl Kv {
    pub async fn text(&self, key: &str) -> Result<Option<String>, String> {
        Ok(settle(self.get_text(key)).await?.as_string())
    }

    /// Several keys in one call (KV's bulk read: one round trip, at most 100 keys).
    pub async fn texts<const N: usize>(&self, keys: [&str; N]) -> Result<[Option<String>; N], String> {
        let found = settle(self.get_texts(&keys.iter().map(|key| JsValue::from_str(key)).collect())).await?;
        let found: js_sys::Map = found.dyn_into().map_err(|value| format!("KV bulk get answered {value:?}, not a Map"))?;
        Ok(keys.map(|key| found.get(&JsValue::from_str(key)).as_string()))
    }

    /// Stores `value`, gone after `ttl_seconds` when given.
    pub async fn put(&self, key: &str, value: &str, ttl_seconds: Option<u64>) -> Result<(), String> {
        let options = match ttl_seconds {
            // A number, not a BigInt (what a u64 would become).
            Some(ttl) => object(&[("expirationTtl", JsValue::from_f64(ttl as f64))])?,
            None => Object::new(),
        };
        settle(self.put_text(key, value, &options)).await.map(drop)
    }

    pub async fn delete(&self, key: &str) -> Result<(), String> {
        settle(self.delete_key(key)).await.map(drop)
    }
}

impl D1 {
    fn statement(&self, sql: &str, params: &[JsValue]) -> Result<D1Statement, String> {
        let params: Array = params.iter().collect();
        self.prepare(sql).and_then(|statement| statement.bind(&params)).map_err(describe)
    }

    /// The first row `sql` returns, if any.
    pub async fn first<T: DeserializeOwned>(&self, sql: &str, params: &[JsValue]) -> Result<Option<T>, String> {
        let row = settle(self.statement(sql, params)?.first()).await?;
        if row.is_null() || row.is_undefined() {
            return Ok(None);
        }
        from_js(&row).map(Some)
    }

    /// Every row `sql` returns.
    pub async fn all<T: DeserializeOwned>(&self, sql: &str, params: &[JsValue]) -> Result<Vec<T>, String> {
        let result = settle(self.statement(sql, params)?.all()).await?;
        from_js(&Reflect::get(&result, &JsValue::from_str("results")).map_err(describe)?)
    }
}

impl Limiter {
    /// Counts one use of `key`: whether it is within the limit.
    pub async fn allows(&self, key: &str) -> Result<bool, String> {
        let outcome = settle(self.limit(&object(&[("key", key.into())])?)).await?;
        let success = Reflect::get(&outcome, &JsValue::from_str("success")).map_err(describe)?;
        success.as_bool().ok_or_else(|| format!("limit() answered {outcome:?}"))
    }
}
