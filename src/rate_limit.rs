//! Per-user upload rate limit (API.md §3 step 5b): the Workers Rate Limiting binding
//! `UPLOAD_LIMITER` (wrangler.toml: 30 per 60 s), keyed by user id. Thin adapter.

use worker::Env;

use crate::api::failure::Failure;
use crate::bindings::{binding, Limiter};

const BINDING: &str = "UPLOAD_LIMITER";

/// Counts one upload for `user_id`; `rate-limited` once the user is over the limit.
pub async fn count_upload(env: &Env, user_id: i64) -> Result<(), Failure> {
    // A deployment without the binding sets no limit.
    let Some(limiter) = binding::<Limiter>(env, BINDING) else { return Ok(()) };
    match limiter.allows(&user_id.to_string()).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(Failure::RateLimited { user_id }),
        Err(e) => fail_open(user_id, &e),
    }
}

/// The limiter guards our fetch bill, not the data (the session already decided who may
/// upload): a limiter that misbehaves must not turn into an outage of every upload, so the
/// request goes through and the failure is logged for someone to fix.
fn fail_open(user_id: i64, error: &str) -> Result<(), Failure> {
    worker::console_error!("{}", serde_json::json!({"event": "rate-limiter-failed", "user_id": user_id, "error": error}));
    Ok(())
}
