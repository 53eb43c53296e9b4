//! CORS for browser clients: `ALLOWED_ORIGINS` (comma-separated, empty by default) lists the
//! origins that get CORS headers; every other origin gets none. Pure.

pub const ALLOW_METHODS: &str = "PUT, OPTIONS";
pub const ALLOW_HEADERS: &str = "Content-Type, Authorization, X-Request-Id";
pub const MAX_AGE_SECONDS: &str = "86400";
pub const EXPOSE_HEADERS: &str = "X-Request-Id, Retry-After";

/// The request's `Origin` if it is listed exactly (scheme, host and port) in `allowed`.
pub fn allowed_origin<'a>(origin: Option<&'a str>, allowed: &str) -> Option<&'a str> {
    let origin = origin?.trim();
    (!origin.is_empty() && allowed.split(',').any(|entry| entry.trim() == origin)).then_some(origin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_listed_origins() {
        let list = "https://app.example.com, http://localhost:3000";
        assert_eq!(allowed_origin(Some("https://app.example.com"), list), Some("https://app.example.com"));
        assert_eq!(allowed_origin(Some("http://localhost:3000"), list), Some("http://localhost:3000"));
        assert_eq!(allowed_origin(Some("https://evil.example.com"), list), None);
        assert_eq!(allowed_origin(Some("https://app.example.com.evil.com"), list), None);
        assert_eq!(allowed_origin(Some("null"), list), None);
        assert_eq!(allowed_origin(None, list), None);
        assert_eq!(allowed_origin(Some("https://app.example.com"), ""), None);
        assert_eq!(allowed_origin(Some(""), " , "), None);
    }
}
