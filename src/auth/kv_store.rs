//! KV adapter for sessions (API.md §4): read the session with this worker's activity key, then
//! the user, and record activity after the response. It never writes `session:*` or `user:*`.

use worker::Context;

use super::session::{admit, open_session, seen_key, seen_record, session_key, user_key, Admitted, SEEN_TTL_SECONDS};
use crate::api::failure::Failure;
use crate::bindings::Kv;
use crate::auth::time::Timestamp;

fn read_failed(e: String) -> Failure {
    Failure::Crash(format!("KV read failed: {e}"))
}

/// Step 5 of §3: `invalid-token`, then `session-expired`, then `client-required`.
pub async fn authenticate(kv: &Kv, ctx: &Context, token: &str, now: Timestamp) -> Result<Admitted, Failure> {
    // Both keys in one bulk read: the activity key adds no round trip.
    let activity_key = seen_key(token);
    let [stored, seen] = kv.texts([&session_key(token), &activity_key]).await.map_err(read_failed)?;
    let session = open_session(stored.as_deref(), seen.as_deref(), now)?;
    let user = kv.text(&user_key(session.user_id)).await.map_err(read_failed)?;
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
