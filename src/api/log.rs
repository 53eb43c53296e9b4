//! One structured JSON log line per request. Never holds tokens or URLs (neither the request's,
//! whose query may carry the token, nor the image's, which may be signed): only ids, names,
//! statuses, sizes and timings. Optional fields are left out until the request got that far.

use serde::Serialize;

#[derive(Debug, Default, Serialize)]
pub struct RequestLog {
    /// The response's `X-Request-Id` (the client's when well-formed, else generated).
    pub request_id: String,
    pub method: String,
    /// The route's name as in `DISABLED_ROUTES`; `null` when no route matched.
    pub route: Option<&'static str>,
    /// The envelope's `status`, or `served` for a non-envelope answer (image bytes, 304,
    /// preflight, demo page).
    pub status: &'static str,
    pub http_status: u16,
    /// Why it failed: `data.reason` for `invalid-url`, `param:reason` for `invalid-param`, the
    /// missing params, or the internal detail of a crash (never sent to the client).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The session's user, once its session was read (also on `session-expired` and
    /// `client-required`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<i64>,
    /// The `id` param, once the params are valid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub list_item_id: Option<i64>,
    /// The stored image's size, once stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// Whether the bytes went to R2 as they arrived (a put of the announced length, or a
    /// multipart upload) rather than in one put after a body that ended under one part.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub streamed: Option<bool>,
    /// Fetching (or, for a direct upload, receiving) and validating the image; every piece but
    /// the last is written to R2 meanwhile, so that writing is in here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fetch_validate_ms: Option<f64>,
    /// Finishing the R2 write: the last piece and the commit of the put or multipart upload.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub r2_ms: Option<f64>,
    /// Pointing the D1 record at the new object and deleting the replaced one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub d1_ms: Option<f64>,
    pub total_ms: f64,
    /// The wasm instance's linear memory when the line is written (it never shrinks: its
    /// high-water mark), so benchmarks can see whether it grows with image size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wasm_memory_bytes: Option<u64>,
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
        assert!(value["route"].is_null());
    }

    #[test]
    fn field_names_are_stable() {
        let log = RequestLog {
            request_id: "r1".into(),
            method: "PUT".into(),
            route: Some("list_items/upload_image"),
            status: "action-successful",
            http_status: 200,
            reason: None,
            user_id: Some(12),
            list_item_id: Some(7),
            bytes: Some(1543),
            streamed: Some(false),
            fetch_validate_ms: Some(3.0),
            r2_ms: Some(1.0),
            d1_ms: Some(1.0),
            total_ms: 5.0,
            wasm_memory_bytes: Some(1_114_112),
        };
        // The order is the emitted text's (serde_json's `Value` sorts keys): each key once, in this order.
        let line = log.to_json();
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        let expected = ["request_id", "method", "route", "status", "http_status", "user_id", "list_item_id", "bytes", "streamed",
             "fetch_validate_ms", "r2_ms", "d1_ms", "total_ms", "wasm_memory_bytes"];
        assert_eq!(value.as_object().unwrap().len(), expected.len());
        let positions: Vec<usize> = expected.iter().map(|k| line.find(&format!("\"{k}\":")).unwrap()).collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{line}");
    }
}
