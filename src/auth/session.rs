//! Session and user records as the auth service writes them to KV (API.md §4), this worker's own
//! activity key, and the expiry rules of §2. Pure: time is passed in.
//!
//! The auth service owns `session:*` and `user:*`; this worker only reads them. Rewriting the
//! session to refresh `last_used_at` could bring back a session the auth service had just deleted
//! (a logout racing an in-flight request) or drop its expiration, so activity goes to a key of
//! its own, `session_seen:<hash>`, and the idle rule reads the later of the two.

use serde::{Deserialize, Deserializer};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::api::failure::Failure;
use crate::auth::time::{Timestamp, DAY_MS, HOUR_MS, MINUTE_MS, SECOND_MS};

/// Limits in milliseconds.
pub const MAX_SESSION_AGE: i64 = 7 * DAY_MS;
pub const MAX_IDLE: i64 = 72 * HOUR_MS;
/// Activity is recorded at most this often per session.
pub const ACTIVITY_INTERVAL: i64 = 5 * MINUTE_MS;
/// How far a record's timestamps may lie ahead of our clock (skew between the auth service's
/// clock and ours) before the record is refused.
pub const MAX_CLOCK_SKEW: i64 = 5 * MINUTE_MS;
/// `expirationTtl` of `session_seen:*`, in seconds: KV drops the key exactly when the session
/// would be idle-expired anyway.
pub const SEEN_TTL_SECONDS: u64 = (MAX_IDLE / SECOND_MS) as u64;

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The KV key of the session a token opens: `session:<sha256 hex of the token>`.
pub fn session_key(token: &str) -> String {
    format!("session:{}", token_hash(token))
}

/// This worker's activity key for the same session: `session_seen:<sha256 hex of the token>`.
pub fn seen_key(token: &str) -> String {
    format!("session_seen:{}", token_hash(token))
}

pub fn user_key(user_id: i64) -> String {
    format!("user:{user_id}")
}

/// An integer written as a JSON number or as a string of digits.
fn integer<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    let parsed = match Value::deserialize(deserializer)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => s.parse().ok(),
        _ => None,
    };
    parsed.ok_or_else(|| serde::de::Error::custom("not an integer"))
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SessionRecord {
    pub id: i64,
    #[serde(deserialize_with = "integer")]
    pub user_id: i64,
    pub created_at: Timestamp,
    /// Once opened: the later of the record's value and this worker's `session_seen`.
    pub last_used_at: Timestamp,
    #[serde(default)]
    pub remember_me: bool,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct UserRecord {
    #[serde(deserialize_with = "integer")]
    pub id: i64,
    #[serde(default)]
    client_id: Value,
    #[serde(default)]
    employee_id: Value,
    #[serde(default)]
    liaison_id: Value,
}

impl UserRecord {
    /// A user with none of these has no roles and must register as a client first.
    pub fn has_role(&self) -> bool {
        [&self.client_id, &self.employee_id, &self.liaison_id].iter().any(|id| !id.is_null())
    }
}

/// A record that does not parse is treated as an unknown token, never as a crash.
pub fn parse_session(json: &str) -> Option<SessionRecord> {
    parse_object(json)
}

pub fn parse_user(json: &str) -> Option<UserRecord> {
    parse_object(json)
}

/// Records are JSON objects; serde would otherwise also accept an array of the fields in order.
fn parse_object<T: serde::de::DeserializeOwned>(json: &str) -> Option<T> {
    match serde_json::from_str(json).ok()? {
        object @ Value::Object(_) => serde_json::from_value(object).ok(),
        _ => None,
    }
}

#[derive(Deserialize)]
struct Seen {
    last_used_at: Timestamp,
}

/// The `last_used_at` of a `session_seen` value; one that does not parse or lies in the future
/// is ignored (it can only make a session live longer than it should).
fn parse_seen(json: &str, now: Timestamp) -> Option<Timestamp> {
    parse_object::<Seen>(json).map(|seen| seen.last_used_at).filter(|&at| at <= now)
}

/// The `session_seen` value recording activity at `now`.
pub fn seen_record(now: Timestamp) -> String {
    json!({ "last_used_at": now.to_rfc3339() }).to_string()
}

impl SessionRecord {
    /// Older than 7 days since creation, or idle for more than 72 hours, unless `remember_me`.
    pub fn is_expired(&self, now: Timestamp) -> bool {
        !self.remember_me && (now.ms_since(self.created_at) > MAX_SESSION_AGE || now.ms_since(self.last_used_at) > MAX_IDLE)
    }

    /// A timestamp further ahead than clock skew explains: such a record would never expire.
    fn is_from_the_future(&self, now: Timestamp) -> bool {
        let horizon = now.plus_ms(MAX_CLOCK_SKEW);
        self.created_at > horizon || self.last_used_at > horizon
    }

    fn activity_is_due(&self, now: Timestamp) -> bool {
        now.ms_since(self.last_used_at) >= ACTIVITY_INTERVAL
    }

    pub fn expires_at(&self) -> Option<Timestamp> {
        (!self.remember_me)
            .then(|| self.created_at.plus_ms(MAX_SESSION_AGE).min(self.last_used_at.plus_ms(MAX_IDLE)))
    }

    /// The `default` session view of the envelope's `session` key.
    pub fn view(&self, token: &str) -> Value {
        json!({
            "id": self.id,
            "user_id": self.user_id,
            "token": token,
            "remember_me": self.remember_me,
            "created_at": self.created_at.to_rfc3339(),
            "last_used_at": self.last_used_at.to_rfc3339(),
            "expires_at": self.expires_at().map(Timestamp::to_rfc3339),
        })
    }
}

/// Step 5 of §3, first half: the stored session record (`None`: no such key) and this worker's
/// `session_seen` value → the session, its `last_used_at` the later of the two; `invalid-token`
/// for an unknown, unreadable or future record.
pub fn open_session(stored: Option<&str>, seen: Option<&str>, now: Timestamp) -> Result<SessionRecord, Failure> {
    let mut session = parse_session(stored.ok_or(Failure::InvalidToken("unknown token"))?)
        .ok_or(Failure::InvalidToken("unreadable session record"))?;
    if session.is_from_the_future(now) {
        return Err(Failure::InvalidToken("session timestamps in the future"));
    }
    if let Some(seen) = seen.and_then(|json| parse_seen(json, now)) {
        session.last_used_at = session.last_used_at.max(seen);
    }
    Ok(session)
}

/// A session that passed step 5.
#[derive(Debug, Clone, PartialEq)]
pub struct Admitted {
    pub session: SessionRecord,
    /// The `session` object of the envelope.
    pub view: Value,
    /// Write `seen_record(now)` to `seen_key(token)`: the stored activity is 5 minutes old.
    pub record_activity: bool,
}

/// Step 5 of §3, second half, given the stored user record: `invalid-token` (missing, unreadable,
/// or not the session's user), then `session-expired`, then `client-required`.
pub fn admit(mut session: SessionRecord, user: Option<&str>, token: &str, now: Timestamp) -> Result<Admitted, Failure> {
    let user = user.and_then(parse_user).ok_or(Failure::InvalidToken("missing or unreadable user record"))?;
    if user.id != session.user_id {
        return Err(Failure::InvalidToken("user record does not match the session"));
    }
    if session.is_expired(now) {
        return Err(Failure::SessionExpired { user_id: session.user_id });
    }
    if !user.has_role() {
        return Err(Failure::ClientRequired { session: session.view(token), user_id: session.user_id });
    }
    let record_activity = session.activity_is_due(now);
    if record_activity {
        session.last_used_at = now;
    }
    Ok(Admitted { view: session.view(token), session, record_activity })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        Timestamp::parse_rfc3339(s).unwrap()
    }

    fn session(created: &str, used: &str, remember_me: bool) -> SessionRecord {
        SessionRecord { id: 7, user_id: 12, created_at: at(created), last_used_at: at(used), remember_me }
    }

    #[test]
    fn key_is_sha256_hex_of_token() {
        assert_eq!(
            session_key("abc"),
            "session:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn parses_the_contract_example_and_ignores_unknown_fields() {
        let s = parse_session(r#"{"id": 7, "user_id": 12, "created_at": "2026-11-20T10:00:00Z", "last_used_at": "2026-11-27T09:00:00Z", "remember_me": false, "ip": "x"}"#).unwrap();
        assert_eq!(s.user_id, 12);
        assert!(parse_session(r#"{"id": 7}"#).is_none());
        assert!(parse_session(r#"{"id": 7, "user_id": 12, "created_at": "yesterday", "last_used_at": "2026-11-27T09:00:00Z"}"#).is_none());
        assert!(parse_session("not json").is_none());
        assert!(parse_session(r#"[7, 12, "2026-11-20T10:00:00Z", "2026-11-27T09:00:00Z", false]"#).is_none());
        assert!(parse_user("[12, 5, null, null]").is_none());
        let offset = parse_session(r#"{"id": 1, "user_id": 2, "created_at": "2026-11-20T12:00:00+02:00", "last_used_at": "2026-11-20T10:00:00Z"}"#).unwrap();
        assert_eq!(offset.created_at, at("2026-11-20T10:00:00Z"));
    }

    #[test]
    fn seven_day_boundary() {
        let now = at("2026-11-28T12:00:00Z");
        assert!(!session("2026-11-21T12:01:00Z", "2026-11-28T11:00:00Z", false).is_expired(now));
        assert!(!session("2026-11-21T12:00:00Z", "2026-11-28T11:00:00Z", false).is_expired(now));
        assert!(session("2026-11-21T11:59:00Z", "2026-11-28T11:00:00Z", false).is_expired(now));
    }

    #[test]
    fn idle_boundary() {
        let now = at("2026-11-28T12:00:00Z");
        assert!(!session("2026-11-24T00:00:00Z", "2026-11-25T12:01:00Z", false).is_expired(now));
        assert!(session("2026-11-24T00:00:00Z", "2026-11-25T11:59:00Z", false).is_expired(now));
    }

    #[test]
    fn remember_me_never_expires() {
        let old = session("2025-01-01T00:00:00Z", "2025-02-01T00:00:00Z", true);
        assert!(!old.is_expired(at("2026-11-28T12:00:00Z")));
        assert_eq!(old.view("t")["expires_at"], Value::Null);
    }

    #[test]
    fn expires_at_is_the_earlier_limit() {
        let s = session("2026-11-20T10:00:00Z", "2026-11-27T09:00:00Z", false);
        assert_eq!(s.view("t")["expires_at"], "2026-11-27T10:00:00Z");
        let s = session("2026-11-26T10:00:00Z", "2026-11-26T11:00:00Z", false);
        assert_eq!(s.view("t")["expires_at"], "2026-11-29T11:00:00Z");
    }

    #[test]
    fn keys() {
        assert_eq!(seen_key("abc"), "session_seen:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(SEEN_TTL_SECONDS, 259_200);
    }

    const NOW: &str = "2026-11-28T12:00:00Z";

    fn record(created: &str, used: &str) -> String {
        format!(r#"{{"id": 7, "user_id": 12, "created_at": "{created}", "last_used_at": "{used}", "remember_me": false}}"#)
    }

    fn open(created: &str, used: &str, seen: Option<&str>) -> Result<SessionRecord, Failure> {
        open_session(Some(&record(created, used)), seen.map(seen_record_at).as_deref(), at(NOW))
    }

    fn seen_record_at(text: &str) -> String {
        format!(r#"{{"last_used_at": "{text}"}}"#)
    }

    #[test]
    fn unknown_unreadable_and_future_records_are_invalid_tokens() {
        let now = at(NOW);
        assert_eq!(open_session(None, None, now), Err(Failure::InvalidToken("unknown token")));
        assert_eq!(open_session(Some("{"), None, now), Err(Failure::InvalidToken("unreadable session record")));
        let future = Err(Failure::InvalidToken("session timestamps in the future"));
        assert_eq!(open("9999-12-31T23:59:59Z", "2026-11-28T11:00:00Z", None), future);
        assert_eq!(open("2026-11-28T11:00:00Z", "2026-11-28T12:05:01Z", None), future);
        assert_eq!(open("2026-11-28T12:05:01Z", "2026-11-28T12:05:01Z", None), future);
        // Within the clock skew: accepted.
        assert!(open("2026-11-28T12:05:00Z", "2026-11-28T12:05:00Z", None).is_ok());
    }

    #[test]
    fn activity_is_the_later_of_record_and_seen() {
        let record_only = open("2026-11-24T00:00:00Z", "2026-11-25T11:00:00Z", None).unwrap();
        assert_eq!(record_only.last_used_at, at("2026-11-25T11:00:00Z"));
        assert!(record_only.is_expired(at(NOW)));
        let seen_later = open("2026-11-24T00:00:00Z", "2026-11-25T11:00:00Z", Some("2026-11-27T12:00:00Z")).unwrap();
        assert_eq!(seen_later.last_used_at, at("2026-11-27T12:00:00Z"));
        assert!(!seen_later.is_expired(at(NOW)));
        let seen_earlier = open("2026-11-24T00:00:00Z", "2026-11-28T10:00:00Z", Some("2026-11-27T12:00:00Z")).unwrap();
        assert_eq!(seen_earlier.last_used_at, at("2026-11-28T10:00:00Z"));
        // A seen value in the future (even by a second), or one that does not parse, is ignored.
        for ignored in ["2026-11-28T12:00:01Z", "9999-01-01T00:00:00Z"] {
            let s = open("2026-11-24T00:00:00Z", "2026-11-25T11:00:00Z", Some(ignored)).unwrap();
            assert_eq!(s.last_used_at, at("2026-11-25T11:00:00Z"), "{ignored}");
        }
        for garbage in ["", "{", "[\"2026-11-27T12:00:00Z\"]", r#"{"last_used_at": "yesterday"}"#, r#"{"last_used_at": 1795168800}"#] {
            let s = open_session(Some(&record("2026-11-24T00:00:00Z", "2026-11-25T11:00:00Z")), Some(garbage), at(NOW)).unwrap();
            assert_eq!(s.last_used_at, at("2026-11-25T11:00:00Z"), "{garbage}");
        }
        assert_eq!(parse_seen(&seen_record(at(NOW)), at(NOW)), Some(at(NOW)));
        assert_eq!(seen_record(at(NOW)), r#"{"last_used_at":"2026-11-28T12:00:00Z"}"#);
    }

    const USER: &str = r#"{"id": 12, "client_id": 5}"#;

    fn admit_at(session: &SessionRecord, user: Option<&str>, now: &str) -> Result<Admitted, Failure> {
        admit(session.clone(), user, "tok", at(now))
    }

    #[test]
    fn user_must_be_the_sessions_user() {
        let s = session("2026-11-28T00:00:00Z", "2026-11-28T11:00:00Z", false);
        for user in [USER, r#"{"id": "12", "client_id": 5}"#, r#"{"id": "0012", "client_id": 5}"#] {
            assert!(admit_at(&s, Some(user), NOW).is_ok(), "{user}");
        }
        let mismatch = Err(Failure::InvalidToken("user record does not match the session"));
        assert_eq!(admit_at(&s, Some(r#"{"id": 13, "client_id": 5}"#), NOW), mismatch);
        let unreadable = Err(Failure::InvalidToken("missing or unreadable user record"));
        for user in [None, Some("{"), Some(r#"{"id": 12.0, "client_id": 5}"#), Some(r#"{"id": "12a", "client_id": 5}"#),
                     Some(r#"{"id": "", "client_id": 5}"#), Some(r#"{"id": "-12", "client_id": 5}"#), Some(r#"{"id": null}"#)] {
            assert_eq!(admit_at(&s, user, NOW), unreadable, "{user:?}");
        }
        let by_string = open_session(Some(r#"{"id": 7, "user_id": "12", "created_at": "2026-11-28T00:00:00Z", "last_used_at": "2026-11-28T11:00:00Z"}"#), None, at(NOW)).unwrap();
        assert_eq!(by_string.user_id, 12);
        assert!(admit_at(&by_string, Some(USER), NOW).is_ok());
    }

    #[test]
    fn activity_is_recorded_at_most_every_five_minutes_and_only_when_admitted() {
        let recent = session("2026-11-28T00:00:00Z", "2026-11-28T11:55:01Z", false);
        let admitted = admit_at(&recent, Some(USER), NOW).unwrap();
        assert!(!admitted.record_activity);
        assert_eq!(admitted.view["last_used_at"], "2026-11-28T11:55:01Z");
        let due = session("2026-11-28T00:00:00Z", "2026-11-28T11:55:00Z", false);
        let admitted = admit_at(&due, Some(USER), NOW).unwrap();
        assert!(admitted.record_activity);
        assert_eq!(admitted.view["last_used_at"], NOW);
        assert_eq!(admitted.view["expires_at"], "2026-12-01T12:00:00Z");
        assert_eq!(admitted.session.last_used_at, at(NOW));
        // client-required shows the stored activity and records none.
        match admit_at(&due, Some(r#"{"id": 12}"#), NOW) {
            Err(Failure::ClientRequired { session, user_id: 12 }) => assert_eq!(session["last_used_at"], "2026-11-28T11:55:00Z"),
            other => panic!("{other:?}"),
        }
        let expired = session("2026-11-20T00:00:00Z", "2026-11-28T11:00:00Z", false);
        assert_eq!(admit_at(&expired, Some(USER), NOW), Err(Failure::SessionExpired { user_id: 12 }));
    }

    #[test]
    fn roles() {
        assert!(parse_user(r#"{"id": 12, "email": "a@b.c", "client_id": 5, "employee_id": null, "liaison_id": null}"#).unwrap().has_role());
        assert!(parse_user(r#"{"id": 12, "liaison_id": 3}"#).unwrap().has_role());
        assert!(!parse_user(r#"{"id": 12, "client_id": null, "employee_id": null, "liaison_id": null}"#).unwrap().has_role());
        assert!(!parse_user(r#"{"id": 12}"#).unwrap().has_role());
        assert!(parse_user(r#"{"email": "a@b.c"}"#).is_none());
    }
}
