//! Every way a request can fail, mapped in one place to its status, message and `data`.
//! Internal detail (`Crash`, `IdentifyRequest`) is kept for the log and never sent to the client.

use serde_json::{json, Value};

use super::status::Status;

/// `Retry-After` of `rate-limited`: the rate limiter's period (`period = 60` in wrangler.toml).
pub const RATE_LIMIT_RETRY_AFTER_S: u32 = 60;

/// Why a fetched URL did not yield a storable image (`invalid-url`, API.md §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlFailure {
    Unreachable,
    Timeout,
    UpstreamStatus(u16),
    TooManyRedirects,
    ForbiddenDestination,
    TooLarge,
    Empty,
    UnsupportedType,
    Corrupt,
    TooManyPixels,
}

impl UrlFailure {
    pub fn reason(self) -> &'static str {
        match self {
            UrlFailure::Unreachable => "unreachable",
            UrlFailure::Timeout => "timeout",
            UrlFailure::UpstreamStatus(_) => "upstream-status",
            UrlFailure::TooManyRedirects => "too-many-redirects",
            UrlFailure::ForbiddenDestination => "forbidden-destination",
            UrlFailure::TooLarge => "too-large",
            UrlFailure::Empty => "empty",
            UrlFailure::UnsupportedType => "unsupported-type",
            UrlFailure::Corrupt => "corrupt",
            UrlFailure::TooManyPixels => "too-many-pixels",
        }
    }

    fn message(self) -> String {
        match self {
            UrlFailure::Unreachable => "The image URL could not be reached.".into(),
            UrlFailure::Timeout => "The image URL did not deliver the image in time.".into(),
            UrlFailure::UpstreamStatus(code) => format!("The image URL answered with HTTP {code}."),
            UrlFailure::TooManyRedirects => "The image URL redirected too many times.".into(),
            UrlFailure::ForbiddenDestination => "The image URL points to a destination that is not allowed.".into(),
            UrlFailure::TooLarge => "The image is larger than the allowed size.".into(),
            UrlFailure::Empty => "The image URL returned an empty body.".into(),
            UrlFailure::UnsupportedType => "The URL did not return a PNG or JPEG image.".into(),
            UrlFailure::Corrupt => "The image is not a valid, complete PNG or JPEG file.".into(),
            UrlFailure::TooManyPixels => "The image dimensions exceed the allowed limits.".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    RouteNonExistent,
    RouteNotFound,
    /// Internal failure before the route was identified; the String is for the log only.
    IdentifyRequest(String),
    /// The name of the missing binding (logged, not sent).
    ServiceNotFound(&'static str),
    InvalidContentType,
    InvalidEncodedParams(&'static str),
    NoParamsDecoded,
    InvalidToken(&'static str),
    SessionExpired { user_id: i64 },
    /// The user passed the per-user upload rate limit (API.md §3 step 5b).
    RateLimited { user_id: i64 },
    /// The session view is still returned so the client can register.
    ClientRequired { session: Value, user_id: i64 },
    MissingParams(Vec<&'static str>),
    InvalidParam { param: &'static str, reason: &'static str },
    InvalidUrl(UrlFailure),
    /// `GET /images/<key>` for a key that holds no object.
    ImageNotFound,
    /// Internal error; the String is for the log only.
    Crash(String),
}

impl Failure {
    pub fn status(&self) -> Status {
        match self {
            Failure::RouteNonExistent => Status::RouteNonExistent,
            Failure::RouteNotFound => Status::RouteNotFound,
            Failure::IdentifyRequest(_) => Status::IdentifyRequestError,
            Failure::ServiceNotFound(_) => Status::ServiceNotFound,
            Failure::InvalidContentType => Status::InvalidContentType,
            Failure::InvalidEncodedParams(_) => Status::InvalidEncodedParams,
            Failure::NoParamsDecoded => Status::NoParamsDecoded,
            Failure::InvalidToken(_) => Status::InvalidToken,
            Failure::SessionExpired { .. } => Status::SessionExpired,
            Failure::ClientRequired { .. } => Status::ClientRequired,
            Failure::RateLimited { .. } => Status::RateLimited,
            Failure::MissingParams(_) => Status::MissingParam,
            Failure::InvalidParam { .. } => Status::InvalidParam,
            Failure::InvalidUrl(_) => Status::InvalidUrl,
            Failure::ImageNotFound => Status::RouteNotFound,
            Failure::Crash(_) => Status::ApplicationCrash,
        }
    }

    pub fn message(&self) -> String {
        match self {
            Failure::MissingParams(params) => format!("Missing required parameter(s): {}.", params.join(", ")),
            Failure::InvalidParam { param, reason: "not-found" } => format!("No list item matches `{param}`."),
            Failure::InvalidParam { param, reason } => format!("Parameter `{param}` is invalid ({reason})."),
            Failure::InvalidEncodedParams(why) => format!("The request body could not be decoded: {why}."),
            Failure::InvalidUrl(reason) => reason.message(),
            Failure::ImageNotFound => "No stored image has this key.".to_string(),
            other => other.status().default_message().to_string(),
        }
    }

    pub fn data(&self) -> Value {
        match self {
            Failure::MissingParams(params) => json!({ "params": params }),
            Failure::InvalidParam { param, reason } => json!({ "param": param, "reason": reason }),
            Failure::InvalidUrl(UrlFailure::UpstreamStatus(code)) => {
                json!({ "reason": "upstream-status", "upstream_status": code })
            }
            Failure::InvalidUrl(reason) => json!({ "reason": reason.reason() }),
            Failure::ImageNotFound => json!({ "reason": "not-found" }),
            // Also in the body: a browser cannot read `Retry-After` on a cross-origin answer.
            Failure::RateLimited { .. } => json!({ "retry_after": RATE_LIMIT_RETRY_AFTER_S }),
            _ => json!({}),
        }
    }

    pub fn session(&self) -> Option<&Value> {
        match self {
            Failure::ClientRequired { session, .. } => Some(session),
            _ => None,
        }
    }

    /// Seconds for the `Retry-After` header, where the client should wait before trying again.
    pub fn retry_after(&self) -> Option<u32> {
        matches!(self, Failure::RateLimited { .. }).then_some(RATE_LIMIT_RETRY_AFTER_S)
    }

    /// A short machine-readable reason for the request log (never the client's secrets).
    pub fn log_reason(&self) -> String {
        match self {
            Failure::IdentifyRequest(detail) | Failure::Crash(detail) => detail.clone(),
            Failure::ServiceNotFound(binding) => format!("missing binding {binding}"),
            Failure::InvalidEncodedParams(why) | Failure::InvalidToken(why) => (*why).to_string(),
            Failure::MissingParams(params) => params.join(","),
            Failure::InvalidParam { param, reason } => format!("{param}:{reason}"),
            Failure::InvalidUrl(reason) => reason.reason().to_string(),
            Failure::ImageNotFound => "not-found".to_string(),
            other => other.status().as_str().to_string(),
        }
    }

    /// The user a failure happened to, when the session was read before it.
    pub fn user_id(&self) -> Option<i64> {
        match self {
            Failure::SessionExpired { user_id }
            | Failure::ClientRequired { user_id, .. }
            | Failure::RateLimited { user_id } => Some(*user_id),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_detail_never_reaches_the_client() {
        let crash = Failure::Crash("D1_ERROR: boom".into());
        assert!(!crash.message().contains("boom"));
        assert!(!crash.data().to_string().contains("boom"));
        assert_eq!(crash.log_reason(), "D1_ERROR: boom");
    }

    #[test]
    fn data_shapes_follow_the_contract() {
        assert_eq!(Failure::MissingParams(vec!["id", "image_url"]).data(), json!({"params": ["id", "image_url"]}));
        assert_eq!(
            Failure::InvalidParam { param: "id", reason: "not-found" }.data(),
            json!({"param": "id", "reason": "not-found"})
        );
        assert_eq!(Failure::InvalidUrl(UrlFailure::TooLarge).data(), json!({"reason": "too-large"}));
        assert_eq!(Failure::RateLimited { user_id: 12 }.data(), json!({"retry_after": 60}));
        assert_eq!(
            Failure::InvalidUrl(UrlFailure::UpstreamStatus(404)).data(),
            json!({"reason": "upstream-status", "upstream_status": 404})
        );
    }
}
