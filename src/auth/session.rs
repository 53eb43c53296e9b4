//! Session and user records as the auth service writes them to KV (API.md §4), and the
//! expiry rules of §2. Pure: time is passed in.

use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::auth::time::{Timestamp, DAY_MS, HOUR_MS, MINUTE_MS};

/// Limits in milliseconds.
pub const MAX_SESSION_AGE: i64 = 7 * DAY_MS;
pub const MAX_IDLE: i64 = 72 * HOUR_MS;
/// `last_used_at` is rewritten at most this often per session.
pub const TOUCH_INTERVAL: i64 = 5 * MINUTE_MS;

/// The KV key of the session a token opens: `session:<sha256 hex of the token>`.
pub fn session_key(token: &str) -> String {
    format!("session:{}", hex::encode(Sha256::digest(token.as_bytes())))
}

pub fn user_key(user_id: i64) -> String {
    format!("user:{user_id}")
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SessionRecord {
    pub id: i64,
    pub user_id: i64,
    pub created_at: Timestamp,
    pub last_used_at: Timestamp,
    #[serde(default)]
    pub remember_me: bool,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct UserRecord {
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

impl SessionRecord {
    /// Older than 7 days since creation, or idle for more than 72 hours, unless `remember_me`.
    pub fn is_expired(&self, now: Timestamp) -> bool {
        !self.remember_me && (now.ms_since(self.created_at) > MAX_SESSION_AGE || now.ms_since(self.last_used_at) > MAX_IDLE)
    }

    pub fn needs_touch(&self, now: Timestamp) -> bool {
        now.ms_since(self.last_used_at) >= TOUCH_INTERVAL
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

/// Rewrite `last_used_at` in the stored JSON, keeping every field the auth service wrote.
pub fn touched_record(stored_json: &str, now: Timestamp) -> Option<String> {
    let mut record: serde_json::Map<String, Value> = serde_json::from_str(stored_json).ok()?;
    record.insert("last_used_at".into(), Value::String(now.to_rfc3339()));
    serde_json::to_string(&record).ok()
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
    fn touch_throttle() {
        let s = session("2026-11-28T00:00:00Z", "2026-11-28T11:56:00Z", false);
        assert!(!s.needs_touch(at("2026-11-28T12:00:00Z")));
        assert!(s.needs_touch(at("2026-11-28T12:01:00Z")));
        let rewritten = touched_record(r#"{"id":7,"extra":"kept","last_used_at":"x"}"#, at("2026-11-28T12:00:00Z")).unwrap();
        let v: Value = serde_json::from_str(&rewritten).unwrap();
        assert_eq!(v["extra"], "kept");
        assert_eq!(v["last_used_at"], "2026-11-28T12:00:00Z");
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
