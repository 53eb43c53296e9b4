//! Request decoding and typed parameters (API.md §1, steps 3, 4 and 6 of §3). Pure.

use serde_json::{Map, Value};
use url::Url;

use super::failure::Failure;
use crate::fetch::destination::{may_hold_non_ascii_host, parse_image_url};

pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What the request's body is (step 3 of §3), from its `Content-Type` (case-insensitive,
/// parameters such as `charset` allowed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// `application/json`: the params; the image comes from `image_url`.
    Params,
    /// `image/png`, `image/jpeg`, `application/octet-stream`: the image itself (API.md §7).
    /// The declared type never decides the format: the bytes do.
    Image,
}

pub fn body_kind(content_type: Option<&str>) -> Option<BodyKind> {
    let essence = content_type?.split(';').next()?.trim().to_ascii_lowercase();
    match essence.as_str() {
        "application/json" => Some(BodyKind::Params),
        "image/png" | "image/jpeg" | "application/octet-stream" => Some(BodyKind::Image),
        _ => None,
    }
}

/// Decoded, untyped params: the JSON body object with the query string merged under it.
#[derive(Debug, Clone, PartialEq)]
pub struct RawParams(Map<String, Value>);

/// Decode the body (at most `MAX_BODY_BYTES`, an empty body counts as `{}`) and merge the query
/// pairs in; a key present in both is taken from the body.
pub fn decode(body: &[u8], query: impl IntoIterator<Item = (String, String)>) -> Result<RawParams, Failure> {
    if body.len() > MAX_BODY_BYTES {
        return Err(Failure::InvalidEncodedParams("body larger than 64 KiB"));
    }
    let text = std::str::from_utf8(body).map_err(|_| Failure::InvalidEncodedParams("body is not UTF-8"))?;
    let mut params = if text.trim().is_empty() {
        Map::new()
    } else {
        match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(map)) => map,
            Ok(_) => return Err(Failure::InvalidEncodedParams("body is not a JSON object")),
            Err(_) => return Err(Failure::InvalidEncodedParams("body is not valid JSON")),
        }
    };
    for (key, value) in query {
        params.entry(key).or_insert(Value::String(value));
    }
    if params.is_empty() {
        return Err(Failure::NoParamsDecoded);
    }
    Ok(RawParams(params))
}

/// The query string's pairs, decoded as a form (`&`-separated, `+` is a space, escapes
/// decoded). A name or value whose escapes are not UTF-8 is `invalid-encoded-params`: a lenient
/// decoding would turn it into U+FFFD and answer about a value the client never sent.
pub fn query_pairs(query: Option<&str>) -> Result<Vec<(String, String)>, Failure> {
    let decoded = |text: &str| {
        percent_encoding::percent_decode_str(&text.replace('+', " "))
            .decode_utf8()
            .map(|text| text.into_owned())
            .map_err(|_| Failure::InvalidEncodedParams("query string is not UTF-8"))
    };
    let pairs = query.unwrap_or("").split('&').filter(|pair| !pair.is_empty());
    pairs.map(|pair| {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        Ok((decoded(name)?, decoded(value)?))
    }).collect()
}

/// A direct upload's params: the query string alone (its body is the image, and counts as a
/// param, so `no-params-decoded` never applies).
pub fn query_params(query: impl IntoIterator<Item = (String, String)>) -> RawParams {
    RawParams(query.into_iter().map(|(key, value)| (key, Value::String(value))).collect())
}

const MIN_TOKEN_LEN: usize = 16;
const MAX_TOKEN_LEN: usize = 512;

impl RawParams {
    fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }

    /// Hands an `image_url` that may hold a non-ASCII host (a non-ASCII character, or a
    /// percent-escape of one such as `A%C3%A9.example`) to `to_ascii` (the runtime's WHATWG URL
    /// parser, see `edge::ascii_url`): hosts come back in punycode, so this crate's URL parsing
    /// needs no Unicode tables. A URL with ASCII whitespace or controls is left alone (and refused
    /// later), as that parser would silently strip them.
    pub fn normalize_image_url(&mut self, to_ascii: impl Fn(&str) -> Option<String>) {
        if let Some(Value::String(url)) = self.0.get_mut("image_url") {
            if may_hold_non_ascii_host(url) && !url.bytes().any(|b| b <= b' ' || b == 0x7f) {
                if let Some(ascii) = to_ascii(url) {
                    *url = ascii;
                }
            }
        }
    }

    /// The session token: the `token` param, else `Authorization: Bearer <token>`.
    pub fn token<'a>(&'a self, authorization: Option<&'a str>) -> Result<&'a str, Failure> {
        let token = match self.get("token") {
            Some(Value::String(token)) => token.as_str(),
            Some(Value::Null) | None => authorization
                .and_then(bearer_token)
                .ok_or(Failure::InvalidToken("no token"))?,
            Some(_) => return Err(Failure::InvalidToken("token is not a string")),
        };
        let well_formed = (MIN_TOKEN_LEN..=MAX_TOKEN_LEN).contains(&token.len())
            && token.bytes().all(|b| b.is_ascii_alphanumeric() || b"._~+/=-".contains(&b));
        if well_formed {
            Ok(token)
        } else {
            Err(Failure::InvalidToken("malformed token"))
        }
    }
}

fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Application {
    PlanoAuth,
    PlanoOrder,
    PlanoX2,
}

/// The typed params of `upload_image`. `view` and `session_view` only have `default`.
#[derive(Debug, Clone, PartialEq)]
pub struct UploadParams {
    pub id: i64,
    pub image_url: Url,
    pub application: Option<Application>,
}

fn is_absent(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.is_empty(),
        Some(_) => false,
    }
}

/// Step 6 of §3: all missing required params first, then the first invalid one.
pub fn parse_upload(raw: &RawParams) -> Result<UploadParams, Failure> {
    let (id, application) = parse_common(raw, &[("image_url", is_absent(raw.get("image_url")))])?;
    let image_url = match raw.get("image_url") {
        Some(Value::String(url)) => parse_image_url(url)
            .map_err(|problem| Failure::InvalidParam { param: "image_url", reason: problem.reason() })?,
        _ => return Err(Failure::InvalidParam { param: "image_url", reason: "not-a-string" }),
    };
    Ok(UploadParams { id, image_url, application })
}

/// The typed params of a direct upload (API.md §7): the image is the body.
#[derive(Debug, Clone, PartialEq)]
pub struct DirectUploadParams {
    pub id: i64,
    pub application: Option<Application>,
}

/// Step 6 for a direct upload: an empty body is the missing param `image`; an `image_url`
/// beside a body is a conflict (which of the two images would be meant?).
pub fn parse_direct_upload(raw: &RawParams, body_is_empty: bool) -> Result<DirectUploadParams, Failure> {
    let (id, application) = parse_common(raw, &[("image", body_is_empty)])?;
    if !is_absent(raw.get("image_url")) {
        return Err(Failure::InvalidParam { param: "image_url", reason: "conflicts-with-body" });
    }
    Ok(DirectUploadParams { id, application })
}

/// The params both kinds share, after listing every missing one (`id`, then `image_source`
/// with whether it is missing).
fn parse_common(raw: &RawParams, image_source: &[(&'static str, bool)]) -> Result<(i64, Option<Application>), Failure> {
    let id_missing = ("id", is_absent(raw.get("id")));
    let missing: Vec<&'static str> =
        std::iter::once(&id_missing).chain(image_source).filter(|(_, missing)| *missing).map(|(name, _)| *name).collect();
    if !missing.is_empty() {
        return Err(Failure::MissingParams(missing));
    }
    let application = parse_application(raw.get("application"))?;
    parse_view("session_view", raw.get("session_view"))?;
    let id = parse_id(raw.get("id"))?;
    parse_view("view", raw.get("view"))?;
    Ok((id, application))
}

/// The largest id: 2^53 - 1, the largest integer every JSON client (JavaScript's numbers
/// included) reads exactly, so an id this API answers is the id the client sent.
pub const MAX_ID: i64 = (1 << 53) - 1;

fn parse_id(value: Option<&Value>) -> Result<i64, Failure> {
    let invalid = |reason| Failure::InvalidParam { param: "id", reason };
    let id = match value {
        // Past i64 (serde_json reads those as u64 or f64) or a fraction: a value past the bound
        // is out of range whatever its spelling (`1e300`, `18446744073709551616`).
        Some(Value::Number(n)) => n.as_i64().ok_or_else(|| {
            invalid(if n.as_f64().is_some_and(|f| f.abs() > MAX_ID as f64) { "out-of-range" } else { "not-an-integer" })
        })?,
        Some(Value::String(s)) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse::<i64>().map_err(|_| invalid("out-of-range"))?
        }
        _ => return Err(invalid("not-an-integer")),
    };
    if (1..=MAX_ID).contains(&id) {
        Ok(id)
    } else {
        Err(invalid("out-of-range"))
    }
}

fn parse_application(value: Option<&Value>) -> Result<Option<Application>, Failure> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s == "planoauth" => Ok(Some(Application::PlanoAuth)),
        Some(Value::String(s)) if s == "planoorder" => Ok(Some(Application::PlanoOrder)),
        Some(Value::String(s)) if s == "planox2" => Ok(Some(Application::PlanoX2)),
        Some(_) => Err(Failure::InvalidParam { param: "application", reason: "unsupported-value" }),
    }
}

fn parse_view(param: &'static str, value: Option<&Value>) -> Result<(), Failure> {
    match value {
        None | Some(Value::Null) => Ok(()),
        Some(Value::String(s)) if s == "default" => Ok(()),
        Some(_) => Err(Failure::InvalidParam { param, reason: "unsupported-value" }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn raw(value: Value) -> RawParams {
        decode(value.to_string().as_bytes(), []).unwrap()
    }

    #[test]
    fn query_strings_decode_as_forms_and_must_be_utf8() {
        let pairs = |query| query_pairs(Some(query)).unwrap();
        let owned = |list: &[(&str, &str)]| list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Vec<_>>();
        assert_eq!(pairs("id=12&token=a+b%20c%2B"), owned(&[("id", "12"), ("token", "a b c+")]));
        assert_eq!(pairs("&&id=1&flag&x=%C3%A9=="), owned(&[("id", "1"), ("flag", ""), ("x", "é==")]));
        // Escapes that are not escapes stay as they are (as browsers and url's parser keep them).
        assert_eq!(pairs("id=100%&v=%zz"), owned(&[("id", "100%"), ("v", "%zz")]));
        assert_eq!(query_pairs(None), Ok(Vec::new()));
        assert_eq!(query_pairs(Some("")), Ok(Vec::new()));
        for bad in ["id=%FF", "id=1&token=%C3", "%80=1", "x=%ED%A0%80"] {
            assert_eq!(query_pairs(Some(bad)), Err(Failure::InvalidEncodedParams("query string is not UTF-8")), "{bad}");
        }
    }

    #[test]
    fn content_type() {
        assert_eq!(body_kind(Some("application/json")), Some(BodyKind::Params));
        assert_eq!(body_kind(Some("Application/JSON; charset=utf-8")), Some(BodyKind::Params));
        for image in ["image/png", "IMAGE/JPEG", "application/octet-stream", "image/jpeg; foo=bar"] {
            assert_eq!(body_kind(Some(image)), Some(BodyKind::Image), "{image}");
        }
        for other in ["text/plain", "application/jsonx", "image/gif", "image/webp", "multipart/form-data", ""] {
            assert_eq!(body_kind(Some(other)), None, "{other}");
        }
        assert_eq!(body_kind(None), None);
    }

    #[test]
    fn direct_upload_params() {
        let query = |pairs: &[(&str, &str)]| query_params(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        assert_eq!(parse_direct_upload(&query(&[("id", "12")]), false), Ok(DirectUploadParams { id: 12, application: None }));
        assert_eq!(parse_direct_upload(&query(&[]), true), Err(Failure::MissingParams(vec!["id", "image"])));
        assert_eq!(parse_direct_upload(&query(&[("id", "12")]), true), Err(Failure::MissingParams(vec!["image"])));
        // An image_url with an empty body: a direct upload with no image.
        assert_eq!(parse_direct_upload(&query(&[("id", "12"), ("image_url", "https://a.example/x.png")]), true), Err(Failure::MissingParams(vec!["image"])));
        assert_eq!(
            parse_direct_upload(&query(&[("id", "12"), ("image_url", "https://a.example/x.png")]), false),
            Err(Failure::InvalidParam { param: "image_url", reason: "conflicts-with-body" })
        );
        assert_eq!(parse_direct_upload(&query(&[("id", "12"), ("image_url", "")]), false).map(|p| p.id), Ok(12));
        assert_eq!(
            parse_direct_upload(&query(&[("id", "x"), ("image_url", "https://a.example/x.png")]), false),
            Err(Failure::InvalidParam { param: "id", reason: "not-an-integer" }),
            "params in the table's order"
        );
        assert_eq!(
            parse_direct_upload(&query(&[("id", "12"), ("view", "full")]), false),
            Err(Failure::InvalidParam { param: "view", reason: "unsupported-value" })
        );
        assert_eq!(query(&[("token", "t")]).token(None), Err(Failure::InvalidToken("malformed token")));
    }

    #[test]
    fn decode_rules() {
        let too_big = vec![b' '; MAX_BODY_BYTES + 1];
        for body in [&b"{"[..], b"[1]", b"\"x\"", b"3", &[0xff, 0xfe], &too_big] {
            assert!(matches!(decode(body, []), Err(Failure::InvalidEncodedParams(_))), "{body:?}");
        }
        assert_eq!(decode(b"{}", []), Err(Failure::NoParamsDecoded));
        assert_eq!(decode(b"", []), Err(Failure::NoParamsDecoded));
        let merged = decode(br#"{"id": 5}"#, [("id".into(), "6".into()), ("view".into(), "default".into())]).unwrap();
        assert_eq!(merged.get("id"), Some(&json!(5)));
        assert_eq!(merged.get("view"), Some(&json!("default")));
        assert!(decode(b"", [("id".into(), "6".into())]).is_ok());
    }

    #[test]
    fn token_sources() {
        let token = "tok_0123456789abcdef";
        assert_eq!(raw(json!({"token": token})).token(None), Ok(token));
        assert_eq!(raw(json!({"id": 1})).token(Some(&format!("Bearer {token}"))), Ok(token));
        assert_eq!(raw(json!({"token": token})).token(Some("Bearer tok_other_other_other")), Ok(token));
        assert!(raw(json!({"id": 1})).token(None).is_err());
        assert!(raw(json!({"id": 1})).token(Some("Basic abc")).is_err());
        assert!(raw(json!({"token": 12345678901234567_u64})).token(None).is_err());
        assert!(raw(json!({"token": "short"})).token(None).is_err());
        assert!(raw(json!({"token": "has space in it 0123"})).token(None).is_err());
    }

    #[test]
    fn missing_params_are_all_listed() {
        assert_eq!(parse_upload(&raw(json!({"token": "x"}))), Err(Failure::MissingParams(vec!["id", "image_url"])));
        assert_eq!(
            parse_upload(&raw(json!({"id": null, "image_url": "https://a.b/c.png"}))),
            Err(Failure::MissingParams(vec!["id"]))
        );
        assert_eq!(parse_upload(&raw(json!({"id": 3, "image_url": ""}))), Err(Failure::MissingParams(vec!["image_url"])));
    }

    #[test]
    fn id_rules() {
        let url = "https://example.com/a.png";
        for good in [json!(1), json!("42"), json!(MAX_ID), json!("9007199254740991"), json!("0009007199254740991")] {
            assert_eq!(parse_upload(&raw(json!({"id": good, "image_url": url}))).map(|p| p.id > 0), Ok(true), "{good}");
        }
        let id_failure = |body: &str| match decode(format!(r#"{{"image_url": "{url}", "id": {body}}}"#).as_bytes(), []) {
            Ok(raw) => parse_upload(&raw).err(),
            Err(e) => Some(e),
        };
        for (body, reason) in [
            ("0", "out-of-range"),
            ("-1", "out-of-range"),
            ("9007199254740992", "out-of-range"),
            (r#""9007199254740992""#, "out-of-range"),
            ("9223372036854775807", "out-of-range"),
            ("9223372036854775808", "out-of-range"),
            ("18446744073709551616", "out-of-range"), // past u64: serde_json reads it as a float
            (r#""9223372036854775808""#, "out-of-range"),
            (r#""99999999999999999999999999999""#, "out-of-range"),
            ("1e300", "out-of-range"),
            ("-1e300", "out-of-range"),
            ("9007199254740992.0", "out-of-range"),
            ("1.5", "not-an-integer"),
            ("5.0", "not-an-integer"),
            (r#""12a""#, "not-an-integer"),
            (r#""-3""#, "not-an-integer"),
            (r#"" 4""#, "not-an-integer"),
            ("true", "not-an-integer"),
            ("{}", "not-an-integer"),
            ("[1]", "not-an-integer"),
        ] {
            assert_eq!(id_failure(body), Some(Failure::InvalidParam { param: "id", reason }), "{body}");
        }
    }

    #[test]
    fn non_ascii_image_urls_go_through_the_runtime_parser() {
        let to_ascii = |url: &str| Some(url.replace("b\u{fc}cher", "xn--bcher-kva"));
        let mut params = raw(json!({"image_url": "https://b\u{fc}cher.example/a.png"}));
        params.normalize_image_url(to_ascii);
        assert_eq!(params.get("image_url"), Some(&json!("https://xn--bcher-kva.example/a.png")));
        // ASCII URLs are not touched; neither are ones the runtime parser would silently clean.
        for untouched in ["https://example.com/a.png", "https://b\u{fc}cher.example/a\n.png", " https://b\u{fc}.example/"] {
            let mut params = raw(json!({ "image_url": untouched }));
            params.normalize_image_url(|_| Some("changed".into()));
            assert_eq!(params.get("image_url"), Some(&json!(untouched)));
        }
    }

    #[test]
    fn optional_params() {
        let base = json!({"id": 1, "image_url": "https://example.com/a.png"});
        let with = |key: &str, value: Value| {
            let mut v = base.clone();
            v[key] = value;
            parse_upload(&raw(v))
        };
        assert_eq!(with("application", json!("planox2")).unwrap().application, Some(Application::PlanoX2));
        assert!(with("view", json!("default")).is_ok());
        assert!(matches!(with("application", json!("other")), Err(Failure::InvalidParam { param: "application", .. })));
        assert!(matches!(with("view", json!("full")), Err(Failure::InvalidParam { param: "view", .. })));
        assert!(matches!(with("session_view", json!(1)), Err(Failure::InvalidParam { param: "session_view", .. })));
        assert!(matches!(with("image_url", json!(5)), Err(Failure::InvalidParam { param: "image_url", .. })));
        assert!(matches!(with("image_url", json!("/relative.png")), Err(Failure::InvalidParam { param: "image_url", .. })));
    }
}
