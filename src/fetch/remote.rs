//! Fetch adapter: the origin request, redirects followed by hand (each hop checked again),
//! one deadline over the whole exchange, and the body fed chunk by chunk into `Ingest`.

use std::time::Duration;

use futures_util::future::{select, Either};
use futures_util::StreamExt;
use url::Url;
use worker::{AbortController, Delay, Fetch, Headers, Method, Request, RequestInit, RequestRedirect, Response};

use super::destination::{check_destination, next_hop, Policy, Refusal};
use crate::api::failure::UrlFailure;
use crate::config::Limits;
use crate::ingest::{AcceptedImage, Ingest};

pub const USER_AGENT: &str = "list-items-image-fetcher/1.0 (+https://developers.cloudflare.com/workers/)";
const ACCEPT: &str = "image/png, image/jpeg";

pub struct FetchedImage {
    pub bytes: Vec<u8>,
    pub image: AcceptedImage,
}

fn refused(refusal: Refusal) -> UrlFailure {
    match refusal {
        Refusal::Forbidden => UrlFailure::ForbiddenDestination,
        Refusal::Unreachable => UrlFailure::Unreachable,
    }
}

/// Fetch and validate `url` within `limits`. Nothing from the caller's request is forwarded.
pub async fn fetch_image(url: &Url, limits: &Limits) -> Result<FetchedImage, UrlFailure> {
    let controller = AbortController::default();
    let signal = controller.signal();
    let exchange = Box::pin(fetch_and_ingest(url, limits, &signal));
    let deadline = Delay::from(Duration::from_millis(limits.fetch_timeout_ms));
    let outcome = match select(exchange, deadline).await {
        Either::Left((result, _)) => result,
        Either::Right(((), _)) => {
            // Cancel the in-flight request and body so the origin connection is released.
            controller.abort();
            Err(UrlFailure::Timeout)
        }
    };
    outcome
}

async fn fetch_and_ingest(url: &Url, limits: &Limits, signal: &worker::AbortSignal) -> Result<FetchedImage, UrlFailure> {
    let policy = Policy { allow_private: limits.allow_private };
    check_destination(url, policy).map_err(refused)?;
    let mut current = url.clone();
    let mut redirects = 0;
    let mut response = loop {
        let response = send(&current, signal).await?;
        match response.status_code() {
            200 => break response,
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
    };

    let mut ingest = Ingest::new(*limits);
    let announced = response
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|value| value.trim().parse::<u64>().ok());
    ingest.check_announced_length(announced)?;
    // Capacity from a trusted-after-check length, never more than the cap.
    let mut bytes = Vec::with_capacity(announced.unwrap_or(0) as usize);
    let mut body = response.stream().map_err(|_| UrlFailure::Unreachable)?;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|_| UrlFailure::Unreachable)?;
        ingest.push(&chunk)?;
        bytes.extend_from_slice(&chunk);
    }
    let image = ingest.finish()?;
    Ok(FetchedImage { bytes, image })
}

async fn send(url: &Url, signal: &worker::AbortSignal) -> Result<Response, UrlFailure> {
    let headers = Headers::new();
    headers.set("User-Agent", USER_AGENT).map_err(|_| UrlFailure::Unreachable)?;
    headers.set("Accept", ACCEPT).map_err(|_| UrlFailure::Unreachable)?;
    let mut init = RequestInit::new();
    init.with_method(Method::Get).with_headers(headers).with_redirect(RequestRedirect::Manual);
    let request = Request::new_with_init(url.as_str(), &init).map_err(|_| UrlFailure::Unreachable)?;
    Fetch::Request(request).send_with_signal(signal).await.map_err(|_| UrlFailure::Unreachable)
}
