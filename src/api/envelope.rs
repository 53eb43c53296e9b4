//! The platform's JSON envelope `{status, message, data, session}` (API.md §2), as bytes.

use serde::Serialize;
use serde_json::Value;

use super::{failure::Failure, status::Status};

#[derive(Debug, Serialize)]
pub struct Envelope {
    #[serde(serialize_with = "status_string")]
    pub status: Status,
    pub message: String,
    pub data: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<Value>,
    /// Seconds for a `Retry-After` header (not part of the body).
    #[serde(skip)]
    pub retry_after: Option<u32>,
}

fn status_string<S: serde::Serializer>(status: &Status, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(status.as_str())
}

impl Envelope {
    pub fn success(data: Value, session: Value) -> Self {
        Envelope {
            status: Status::ActionSuccessful,
            message: Status::ActionSuccessful.default_message().to_string(),
            data,
            session: Some(session),
            retry_after: None,
        }
    }

    pub fn failure(failure: &Failure) -> Self {
        Envelope {
            status: failure.status(),
            message: failure.message(),
            data: failure.data(),
            session: failure.session().cloned(),
            retry_after: failure.retry_after(),
        }
    }

    pub fn http_code(&self) -> u16 {
        self.status.http_code()
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        // Serialising Strings and `Value`s cannot fail; keep a valid envelope regardless.
        serde_json::to_vec(self).unwrap_or_else(|_| {
            br#"{"status":"application-crash","message":"An internal error occurred.","data":{}}"#.to_vec()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn session_only_when_present() {
        let body: Value = serde_json::from_slice(&Envelope::failure(&Failure::SessionExpired { user_id: 12 }).to_bytes()).unwrap();
        assert_eq!(body["status"], "session-expired");
        assert!(body.get("session").is_none());
        assert_eq!(body["data"], json!({}));

        let failure = Failure::ClientRequired { session: json!({"id": 7}), user_id: 12 };
        let body: Value = serde_json::from_slice(&Envelope::failure(&failure).to_bytes()).unwrap();
        assert_eq!(body["session"], json!({"id": 7}));
        assert_eq!(Envelope::failure(&failure).http_code(), 401);
    }

    #[test]
    fn rate_limited_carries_retry_after_outside_the_body() {
        let envelope = Envelope::failure(&Failure::RateLimited { user_id: 12 });
        assert_eq!((envelope.http_code(), envelope.retry_after), (429, Some(60)));
        let body: Value = serde_json::from_slice(&envelope.to_bytes()).unwrap();
        assert_eq!(body, json!({"status": "rate-limited", "message": "Too many uploads; try again in a minute.", "data": {"retry_after": 60}}));
        assert_eq!(Envelope::failure(&Failure::SessionExpired { user_id: 12 }).retry_after, None);
    }
}
