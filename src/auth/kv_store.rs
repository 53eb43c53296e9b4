//! KV adapter for sessions (API.md §4): look up session and user, and the throttled refresh
//! of `last_used_at` that runs after the response.

use serde_json::Value;
use worker::{Context, KvStore};

use super::session::{parse_session, parse_user, session_key, touched_record, user_key, SessionRecord};
use crate::api::failure::Failure;
use crate::auth::time::Timestamp;

pub struct Authenticated {
    pub session: SessionRecord,
    /// The `session` object of the envelope.
    pub view: Value,
}

async fn read(kv: &KvStore, key: &str) -> Result<Option<String>, Failure> {
    kv.get(key).text().await.map_err(|e| Failure::Crash(format!("KV read failed: {e}")))
}

/// Step 5 of §3: `invalid-token`, then `session-expired`, then `client-required`.
pub async fn authenticate(kv: &KvStore, ctx: &Context, token: &str, now: Timestamp) -> Result<Authenticated, Failure> {
    let key = session_key(token);
    let stored = read(kv, &key).await?.ok_or(Failure::InvalidToken("unknown token"))?;
    let mut session = parse_session(&stored).ok_or(Failure::InvalidToken("unreadable session record"))?;
    let user = read(kv, &user_key(session.user_id))
        .await?
        .as_deref()
        .and_then(parse_user)
        .ok_or(Failure::InvalidToken("missing or unreadable user record"))?;
    if session.is_expired(now) {
        return Err(Failure::SessionExpired { user_id: session.user_id });
    }
    if session.needs_touch(now) {
        if let Some(touched) = touched_record(&stored, now) {
            session.last_used_at = now;
            let kv = kv.clone();
            ctx.wait_until(async move {
                if let Err(e) = async { kv.put(&key, touched)?.execute().await }.await {
                    worker::console_error!("{{\"event\":\"session-touch-failed\",\"error\":{:?}}}", e.to_string());
                }
            });
        }
    }
    let view = session.view(token);
    if !user.has_role() {
        return Err(Failure::ClientRequired { session: view, user_id: session.user_id });
    }
    Ok(Authenticated { session, view })
}
