//! Fetch adapter: the origin request, redirects followed by hand (each hop checked again),
//! under the caller's abort signal (the deadline lives in `transfer`).

use js_sys::Promise;
use url::Url;
use wasm_bindgen::prelude::wasm_bindgen;
use worker::wasm_bindgen_futures::JsFuture;
use worker::worker_sys::web_sys;
use worker::{AbortSignal, Response};

use super::destination::{check_destination, next_hop, Policy, Refusal};
use crate::api::failure::UrlFailure;
use crate::config::Limits;

pub const USER_AGENT: &str = "list-items-image-fetcher/1.0 (+https://developers.cloudflare.com/workers/)";
const ACCEPT: &str = "image/png, image/jpeg";

fn refused(refusal: Refusal) -> UrlFailure {
    match refusal {
        Refusal::Forbidden => UrlFailure::ForbiddenDestination,
        Refusal::Unreachable => UrlFailure::Unreachable,
    }
}

/// Request `url`, following redirects by hand (each hop checked again), until a 200 whose
/// body is still unread. Nothing from the caller's request is forwarded.
pub async fn open(url: &Url, limits: &Limits, signal: &AbortSignal) -> Result<Response, UrlFailure> {
    let policy = Policy { allow_private: limits.allow_private };
    check_destination(url, policy).map_err(refused)?;
    let mut current = url.clone();
    let mut redirects = 0;
    loop {
        let response = send(&current, signal).await?;
        let status = response.status();
        if status == 200 {
            return Ok(Response::from(response));
        }
        // A body this worker will not read: let the runtime drop the connection now.
        if let Some(body) = response.body() {
            let _ = body.cancel();
        }
        match status {
            301 | 302 | 303 | 307 | 308 => {
                redirects += 1;
                if redirects > limits.max_redirects {
                    return Err(UrlFailure::TooManyRedirects);
                }
                let location = response.headers().get("location").ok().flatten();
                current = next_hop(&current, location.as_deref(), policy).map_err(refused)?;
            }
            status => return Err(UrlFailure::UpstreamStatus(status)),
        }
    }
}

/// The body length the origin announced. Under a content coding the runtime hands us the
/// decoded body, whose length the header does not tell.
pub fn announced_length(response: &Response) -> Option<u64> {
    let header = |name| response.headers().get(name).ok().flatten();
    if header("content-encoding").is_some_and(|coding| !coding.trim().eq_ignore_ascii_case("identity")) {
        return None;
    }
    header("content-length").and_then(|value| value.trim().parse().ok())
}

#[wasm_bindgen]
extern "C" {
    /// The runtime's `fetch`, called with a plain `RequestInit`: the `worker` crate's own
    /// `RequestInit` always converts its `cf` properties through serde, which costs the wasm
    /// several KB for options this request never sets.
    #[wasm_bindgen(js_name = fetch, catch)]
    fn fetch_with_init(url: &str, init: &web_sys::RequestInit) -> Result<Promise, wasm_bindgen::JsValue>;
}

async fn send(url: &Url, signal: &AbortSignal) -> Result<web_sys::Response, UrlFailure> {
    let headers = web_sys::Headers::new().map_err(|_| UrlFailure::Unreachable)?;
    headers.set("User-Agent", USER_AGENT).map_err(|_| UrlFailure::Unreachable)?;
    headers.set("Accept", ACCEPT).map_err(|_| UrlFailure::Unreachable)?;
    let init = web_sys::RequestInit::new();
    init.set_method("GET");
    init.set_headers(&headers);
    init.set_redirect(web_sys::RequestRedirect::Manual);
    init.set_signal(Some(signal));
    let promise = fetch_with_init(url.as_str(), &init).map_err(|_| UrlFailure::Unreachable)?;
    let response = JsFuture::from(promise).await.map_err(|_| UrlFailure::Unreachable)?;
    Ok(web_sys::Response::from(response))
}
