//! The sweep's storage on Cloudflare (R2 `IMAGES`, D1 `DB`, KV `SESSIONS`) and the scheduled
//! run itself. Thin adapter: every decision is in `plan` and `walk`.

use std::collections::BTreeSet;

use serde::Deserialize;
use wasm_bindgen::JsValue;
use worker::{Bucket, Env};

use super::plan::{referenced_sql, Listed, Report, Settings, CURSOR_KEY, PREFIX};
use super::walk::{walk, Page, Storage};
use crate::bindings::{binding, Kv, D1};
use crate::edge::{now_ms, scalar_var};

struct Cloudflare {
    bucket: Bucket,
    db: D1,
    kv: Kv,
}

impl Cloudflare {
    fn from_env(env: &Env) -> Result<Cloudflare, String> {
        let missing = |name: &str| format!("missing binding {name}");
        Ok(Cloudflare {
            bucket: env.bucket("IMAGES").map_err(|_| missing("IMAGES"))?,
            db: binding(env, "DB").ok_or_else(|| missing("DB"))?,
            kv: binding(env, "SESSIONS").ok_or_else(|| missing("SESSIONS"))?,
        })
    }
}

#[derive(Deserialize)]
struct Reference {
    image_key: String,
}

impl Storage for Cloudflare {
    async fn load_cursor(&self) -> Result<Option<String>, String> {
        self.kv.text(CURSOR_KEY).await.map_err(|e| format!("KV get {CURSOR_KEY} failed: {e}"))
    }

    async fn save_cursor(&self, cursor: &str) -> Result<(), String> {
        self.kv.put(CURSOR_KEY, cursor, None).await.map_err(|e| format!("KV put {CURSOR_KEY} failed: {e}"))
    }

    async fn clear_cursor(&self) -> Result<(), String> {
        self.kv.delete(CURSOR_KEY).await.map_err(|e| format!("KV delete {CURSOR_KEY} failed: {e}"))
    }

    async fn list(&self, cursor: Option<&str>, limit: u32) -> Result<Page, String> {
        let mut list = self.bucket.list().prefix(PREFIX).limit(limit);
        if let Some(cursor) = cursor {
            list = list.cursor(cursor);
        }
        let listed = list.execute().await.map_err(|e| format!("R2 list failed: {e}"))?;
        let objects = listed
            .objects()
            .iter()
            .map(|object| Listed { key: object.key(), uploaded_ms: object.uploaded().as_millis() as f64 })
            .collect();
        Ok(Page { objects, next: listed.cursor().filter(|_| listed.truncated()) })
    }

    async fn referenced(&self, keys: &[String]) -> Result<BTreeSet<String>, String> {
        let params: Vec<JsValue> = keys.iter().map(|key| JsValue::from_str(key)).collect();
        let rows: Vec<Reference> =
            self.db.all(&referenced_sql(keys.len()), &params).await.map_err(|e| format!("D1 select failed: {e}"))?;
        Ok(rows.into_iter().map(|row| row.image_key).collect())
    }

    async fn delete(&self, keys: &[String]) -> Result<(), String> {
        self.bucket.delete_multiple(keys.to_vec()).await.map_err(|e| format!("R2 delete failed: {e}"))
    }
}

/// One scheduled run: one JSON log line, whatever happens (nothing here panics or fails the
/// event; every failure is counted in the line). Ages are measured at the event's
/// `scheduledTime`, which is never later than the run itself.
pub async fn sweep(env: &Env, scheduled_ms: f64) {
    let started = now_ms();
    let mut report = match (Cloudflare::from_env(env), Settings::from_vars(|name| scalar_var(env, name))) {
        (Ok(storage), Ok(settings)) => Report { warning: settings.warning(), ..walk(&storage, &settings, scheduled_ms).await },
        (Err(e), _) | (_, Err(e)) => {
            let mut report = Report::default();
            report.error(e);
            report
        }
    };
    report.ms = now_ms() - started;
    if report.errors == 0 {
        worker::console_log!("{}", report.to_json());
    } else {
        worker::console_error!("{}", report.to_json());
    }
}
