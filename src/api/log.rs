//! One structured JSON log line per request. Never holds tokens or full URLs.

use serde::Serialize;

#[derive(Debug, Default, Serialize)]
pub struct RequestLog {
    pub request_id: String,
    pub method: String,
    pub route: Option<&'static str>,
    pub status: &'static str,
    pub http_status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub list_item_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub streamed: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fetch_validate_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store_ms: Option<f64>,
    pub total_ms: f64,
}

impl RequestLog {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// A client-supplied `X-Request-Id` is echoed only if it is short and plain, so it cannot
/// inject anything into headers or logs.
pub fn is_acceptable_request_id(id: &str) -> bool {
    (1..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids() {
        assert!(is_acceptable_request_id("3f2a-11ef.req:1"));
        assert!(!is_acceptable_request_id(""));
        assert!(!is_acceptable_request_id("a b"));
        assert!(!is_acceptable_request_id("x\r\nSet-Cookie: a"));
        assert!(!is_acceptable_request_id(&"a".repeat(129)));
    }

    #[test]
    fn log_line_is_one_json_object() {
        let log = RequestLog { request_id: "r1".into(), status: "invalid-url", reason: Some("too-large".into()), ..Default::default() };
        let line = log.to_json();
        assert!(!line.contains('\n'));
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["reason"], "too-large");
        assert!(value.get("user_id").is_none());
    }
}
