//! `GET /` where the var `DEMO_PAGE` is `"true"` (only `npm run dev` sets it): a self-contained
//! page to try the upload route from a browser. The page and its CSP are pure; a fresh nonce per
//! response admits exactly the page's own inline style and script.

use worker::{Headers, Response};

use crate::api::failure::Failure;
use crate::edge::random_hex;

const PAGE: &str = include_str!("../../assets/demo.html");
const NONCE_PLACEHOLDER: &str = "__CSP_NONCE__";

/// The page with `nonce` on its `<style>` and `<script>`.
pub fn page(nonce: &str) -> String {
    PAGE.replace(NONCE_PLACEHOLDER, nonce)
}

/// Nothing but the page's own style and script, images and API calls from this worker (and the
/// page's empty `data:` icon, which spares a `/favicon.ico` request).
pub fn content_security_policy(nonce: &str) -> String {
    format!(
        "default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; img-src 'self' data:; \
         connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; \
         require-trusted-types-for 'script'"
    )
}

pub fn serve_demo_page() -> Result<Response, Failure> {
    let crash = |e: worker::Error| Failure::Crash(format!("demo page: {e}"));
    let nonce = random_hex(16).map_err(Failure::Crash)?;
    let headers = Headers::new();
    headers.set("Content-Type", "text/html; charset=utf-8").map_err(crash)?;
    headers.set("Cache-Control", "no-store").map_err(crash)?;
    headers.set("X-Content-Type-Options", "nosniff").map_err(crash)?;
    headers.set("Referrer-Policy", "no-referrer").map_err(crash)?;
    headers.set("Content-Security-Policy", &content_security_policy(&nonce)).map_err(crash)?;
    Ok(Response::from_bytes(page(&nonce).into_bytes()).map_err(crash)?.with_headers(headers))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NONCE: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn nonce_on_the_one_style_and_the_one_script() {
        let html = page(NONCE);
        assert!(!html.contains(NONCE_PLACEHOLDER));
        assert_eq!(html.matches("<style").count(), 1);
        assert_eq!(html.matches("<script").count(), 1);
        assert!(html.contains(&format!("<style nonce=\"{NONCE}\">")));
        assert!(html.contains(&format!("<script nonce=\"{NONCE}\">")));
        let csp = content_security_policy(NONCE);
        assert!(csp.starts_with("default-src 'none';"));
        assert_eq!(csp.matches(&format!("'nonce-{NONCE}'")).count(), 2);
        assert!(!csp.contains("unsafe"), "{csp}");
    }

    #[test]
    fn self_contained_page() {
        let html = page(NONCE);
        // No external resource, no inline handler or style attribute the CSP would block.
        for banned in ["src=\"http", "href=\"http", "href=\"/", "<iframe", " style=", " onclick", "@import", "url(", "innerHTML"] {
            assert!(!html.contains(banned), "{banned}");
        }
        // The one link: an empty icon, so the browser does not request /favicon.ico.
        assert_eq!(html.matches("<link").count(), 1);
        assert!(html.contains("<link rel=\"icon\" href=\"data:,\">"));
        for id in ["id=\"token\"", "id=\"id\"", "id=\"image_url\"", "id=\"upload-button\"", "id=\"envelope\"", "id=\"stored\""] {
            assert!(html.contains(id), "{id}");
        }
        assert!(html.contains("\"/api/v1/list_items/upload_image\""));
        assert!(html.contains("method: \"PUT\""));
    }
}
