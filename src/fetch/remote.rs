//! Fetch adapter: the origin request, redirects followed by hand (each hop checked again),
//! under the caller's abort signal (the deadline lives in `transfer`).

use url::Url;
use worker::{AbortSignal, Fetch, Headers, Method, Request, RequestInit, RequestRedirect, Response};

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
        match response.status_code() {
            200 => return Ok(response),
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

async fn send(url: &Url, signal: &AbortSignal) -> Result<Response, UrlFailure> {
    let headers = Headers::new();
    headers.set("User-Agent", USER_AGENT).map_err(|_| UrlFailure::Unreachable)?;
    headers.set("Accept", ACCEPT).map_err(|_| UrlFailure::Unreachable)?;
    let mut init = RequestInit::new();
    init.with_method(Method::Get).with_headers(headers).with_redirect(RequestRedirect::Manual);
    let request = Request::new_with_init(url.as_str(), &init).map_err(|_| UrlFailure::Unreachable)?;
    Fetch::Request(request).send_with_signal(signal).await.map_err(|_| UrlFailure::Unreachable)
}
