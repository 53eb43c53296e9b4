//! KV adapter for sessions (API.md §4): read the session with this worker's activity key, then
//! the user, and record activity after the response. It never writes `session:*` or `user:*`.

use futures_util::future::try_join;
use worker::Context;

use super::session::{admit, open_session, seen_key, seen_record, session_key, user_key, Admitted, SEEN_TTL_SECONDS};
use crate::api::failure::Failure;
use crate::bindings::Kv;
use crate::auth::time::Timestamp;

async fn read(kv: &Kv, key: &str) -> Result<Option<String>, Failure> {
    kv.text(key).await.map_err(|e| Failure::Crash(format!("KV read failed: {e}")))
}

/// Step 5 of §3: `invalid-token`, then `session-expired`, then `client-required`.
pub async fn authenticate(kv: &Kv, ctx: &Context, token: &str, now: Timestamp) -> Result<Admitted, Failure> {
    // Both keys at once: the activity key adds no round trip.
    let activity_key = seen_key(token);
    let (stored, seen) = try_join(read(kv, &session_key(token)), read(kv, &activity_key)).await?;
    let session = open_session(stored.as_deref(), seen.as_deref(), now)?;
    let user = read(kv, &user_key(session.user_id)).await?;
    let admitted = admit(session, user.as_deref(), token, now)?;
    if admitted.record_activity {
        let kv = kv.clone();
        ctx.wait_until(async move {
            if let Err(e) = kv.put(&activity_key, &seen_record(now), Some(SEEN_TTL_SECONDS)).await {
                worker::console_error!("{{\"event\":\"session-seen-failed\",\"error\":{:?}}}", e);
            }
        });
    }
    Ok(admitted)
}
