//! `GET`/`HEAD /images/<key>`: serve a stored object (API.md §6).

use worker::{Env, Headers, Object, Request, Response, ResponseBody};

use crate::api::failure::Failure;
use crate::router::is_image_key;
use crate::store::images::ImageBucket;

pub async fn serve_image(req: &Request, env: &Env, key: &str, head_only: bool) -> Result<Response, Failure> {
    let images = ImageBucket(env.bucket("IMAGES").map_err(|_| Failure::ServiceNotFound("IMAGES"))?);
    if !is_image_key(key) {
        return Err(Failure::ImageNotFound);
    }
    let if_none_match = req.headers().get("if-none-match").ok().flatten();
    // A revalidation of the one tag a browser was given asks R2 to skip the body when it
    // still matches (a conditional get); a list or `*` is checked against a head first.
    let object = match (head_only, if_none_match.as_deref().map(single_etag)) {
        (true, _) => images.head(key).await,
        (false, Some(Some(tag))) => images.get_unless_etag(key, tag).await,
        (false, Some(None)) => match images.head(key).await {
            Ok(Some(object)) if if_none_match.as_deref().is_some_and(|value| etag_matches(value, &object.http_etag())) => Ok(Some(object)),
            _ => images.get(key).await,
        },
        (false, None) => images.get(key).await,
    };
    let object = object.map_err(Failure::Crash)?.ok_or(Failure::ImageNotFound)?;

    let etag = object.http_etag();
    let headers = image_headers(&object, &etag).map_err(|e| Failure::Crash(format!("headers: {e}")))?;
    if if_none_match.is_some_and(|value| etag_matches(&value, &etag)) {
        return Ok(Response::empty().map_err(|e| Failure::Crash(e.to_string()))?.with_status(304).with_headers(headers));
    }
    let body = match (head_only, object.body()) {
        (false, Some(body)) => body.response_body().map_err(|e| Failure::Crash(format!("R2 body: {e}")))?,
        _ => ResponseBody::Empty,
    };
    Ok(Response::from_body(body).map_err(|e| Failure::Crash(e.to_string()))?.with_headers(headers))
}

fn image_headers(object: &Object, etag: &str) -> worker::Result<Headers> {
    let headers = Headers::new();
    let content_type = object.http_metadata().content_type.unwrap_or_else(|| "application/octet-stream".into());
    headers.set("Content-Type", &content_type)?;
    headers.set("Content-Length", &object.size().to_string())?;
    headers.set("ETag", etag)?;
    headers.set("Cache-Control", "public, max-age=31536000, immutable")?;
    headers.set("X-Content-Type-Options", "nosniff")?;
    headers.set("Content-Security-Policy", "default-src 'none'; sandbox")?;
    Ok(headers)
}

/// `If-None-Match` is a list of (possibly weak) entity tags, or `*`.
fn etag_matches(header: &str, etag: &str) -> bool {
    let bare = |tag: &str| tag.trim().trim_start_matches("W/").to_string();
    header.split(',').any(|candidate| candidate.trim() == "*" || bare(candidate) == bare(etag))
}

/// The entity tag of an `If-None-Match` that holds exactly one, bare (R2 compares etags
/// without quotes); `None` for a list or `*`.
fn single_etag(header: &str) -> Option<&str> {
    let tag = header.trim().trim_start_matches("W/");
    let bare = tag.strip_prefix('"')?.strip_suffix('"')?;
    (!bare.is_empty() && !bare.contains('"')).then_some(bare)
}

#[cfg(test)]
mod tests {
    use super::{etag_matches, single_etag};

    #[test]
    fn single_etags() {
        assert_eq!(single_etag("\"abc\""), Some("abc"));
        assert_eq!(single_etag(" W/\"abc\" "), Some("abc"));
        assert_eq!(single_etag("\"a\", \"b\""), None);
        assert_eq!(single_etag("*"), None);
        assert_eq!(single_etag("\"\""), None);
    }

    #[test]
    fn if_none_match_forms() {
        assert!(etag_matches("\"abc\"", "\"abc\""));
        assert!(etag_matches("W/\"abc\"", "\"abc\""));
        assert!(etag_matches("\"x\", \"abc\"", "\"abc\""));
        assert!(etag_matches("*", "\"abc\""));
        assert!(!etag_matches("\"abd\"", "\"abc\""));
    }
}
