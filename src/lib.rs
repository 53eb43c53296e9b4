//! A Cloudflare Worker serving `PUT /api/v1/list_items/upload_image` (see API.md).
//!
//! Pure core (no `worker` types, tested natively): `api`, `auth::session`, `config`,
//! `fetch::destination`, `image`, `ingest`, `list_item`, `router`, `sweep::{plan, walk}`.
//! Thin edge: `bindings`, `edge`, `auth::kv_store`, `fetch::remote`, `node_builtins`, `rate_limit`, `streams`,
//! `sweep::cloudflare`, `transfer`, `store`, `routes`, and this file (`architecture_tests`
//! fails when any other module names the runtime).

pub mod api;
#[cfg(test)]
mod architecture_tests;
pub mod auth;
pub mod bindings;
pub mod config;
pub mod commit;
pub mod cors;
pub mod edge;
pub mod fetch;
pub mod image;
pub mod ingest;
pub mod list_item;
pub mod node_builtins;
pub mod rate_limit;
pub mod router;
pub mod routes;
pub mod store;
pub mod streams;
pub mod sweep;
pub mod transfer;

use worker::{event, Context, Env, Headers, Request, Response, ScheduleContext, ScheduledEvent};

use api::envelope::Envelope;
use api::failure::Failure;
use api::log::{is_acceptable_request_id, RequestLog};
use edge::{now_ms, random_hex, var, VarValue};
use router::{exists, identify, is_disabled, Route};
use routes::Reply;

#[event(fetch)]
async fn fetch(mut req: Request, env: Env, ctx: Context) -> worker::Result<Response> {
    console_error_panic_hook::set_once();
    let started = now_ms();
    let request_id = match req.headers().get("x-request-id").ok().flatten() {
        Some(id) if is_acceptable_request_id(&id) => id,
        _ => random_hex(16).unwrap_or_else(|_| format!("t{}", started as u64)),
    };
    let mut log = RequestLog { request_id: request_id.clone(), method: req.inner().method(), ..Default::default() };

    let reply = match dispatch(&mut req, &env, &ctx, &mut log).await {
        Ok(reply) => reply,
        Err(failure) => {
            log.reason = Some(failure.log_reason());
            log.user_id = log.user_id.or(failure.user_id());
            Reply::Envelope(Envelope::failure(&failure))
        }
    };
    let response = match reply {
        Reply::Envelope(envelope) => {
            log.status = envelope.status.as_str();
            envelope_response(&envelope)
        }
        Reply::Raw(response) => {
            log.status = "served";
            Ok(response)
        }
    }
    .and_then(|response| with_request_id(response, &request_id))
    .and_then(|response| with_cors(response, &req, &env));
    log.http_status = response.as_ref().map(Response::status_code).unwrap_or(500);
    log.total_ms = now_ms() - started;
    log.wasm_memory_bytes = Some(wasm_memory_bytes());
    worker::console_log!("{}", log.to_json());
    response
}

/// The byte length of this instance's wasm linear memory.
fn wasm_memory_bytes() -> u64 {
    use wasm_bindgen::JsCast;
    let memory = wasm_bindgen::memory().unchecked_into::<js_sys::WebAssembly::Memory>();
    memory.buffer().unchecked_into::<js_sys::ArrayBuffer>().byte_length().into()
}

/// The hourly Cron Trigger: the sweep of orphaned images (API.md §8).
#[event(scheduled)]
async fn scheduled(event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    console_error_panic_hook::set_once();
    sweep::sweep(&env, event.schedule()).await;
}

/// Step 1 of §3 (route, then the deployment switch), then the route's own handler.
async fn dispatch(req: &mut Request, env: &Env, ctx: &Context, log: &mut RequestLog) -> Result<Reply, Failure> {
    let demo_page = match var(env, "DEMO_PAGE") {
        VarValue::Text(value) => Some(value),
        _ => None,
    };
    // The method as sent: worker::Method maps every method it does not know (QUERY, PROPFIND…) to GET.
    let route = identify(&req.inner().method(), &req.path())
        .filter(|route| exists(route, demo_page.as_deref()))
        .ok_or(Failure::RouteNonExistent)?;
    log.route = Some(route.name());
    let disabled = match var(env, "DISABLED_ROUTES") {
        VarValue::Missing => false,
        VarValue::Text(list) => is_disabled(&route, &list),
        VarValue::Other(_) => return Err(Failure::IdentifyRequest("DISABLED_ROUTES is not a string".into())),
    };
    if disabled {
        return Err(Failure::RouteNotFound);
    }
    match route {
        Route::UploadImage => routes::upload_image::upload_image(req, env, ctx, log).await.map(Reply::Envelope),
        Route::UploadImagePreflight => preflight().map(Reply::Raw),
        Route::DemoPage => routes::demo::serve_demo_page().map(Reply::Raw),
        Route::Image { key, head_only } => {
            routes::images::serve_image(req, env, &key, head_only).await.map(Reply::Raw)
        }
    }
}

fn preflight() -> Result<Response, Failure> {
    let headers = Headers::new();
    headers.set("Allow", "PUT, OPTIONS").map_err(|e| Failure::Crash(e.to_string()))?;
    Ok(Response::empty().map_err(|e| Failure::Crash(e.to_string()))?.with_status(204).with_headers(headers))
}

fn envelope_response(envelope: &Envelope) -> worker::Result<Response> {
    let headers = Headers::new();
    headers.set("Content-Type", "application/json; charset=utf-8")?;
    headers.set("Cache-Control", "no-store")?;
    if let Some(seconds) = envelope.retry_after {
        headers.set("Retry-After", &seconds.to_string())?;
    }
    Ok(Response::from_bytes(envelope.to_bytes())?.with_status(envelope.http_code()).with_headers(headers))
}

/// CORS headers for listed origins only; a preflight from one also gets methods, headers, max age.
fn with_cors(mut response: Response, req: &Request, env: &Env) -> worker::Result<Response> {
    let allowed = match var(env, "ALLOWED_ORIGINS") {
        VarValue::Text(list) if !list.trim().is_empty() => list,
        _ => return Ok(response),
    };
    // Every answer depends on Origin once any is allowed: caches must not hand one origin's
    // answer (with or without CORS headers) to another.
    response.headers_mut().append("Vary", "Origin")?;
    let origin = req.headers().get("origin")?;
    let Some(origin) = cors::allowed_origin(origin.as_deref(), &allowed) else { return Ok(response) };
    let headers = response.headers_mut();
    headers.set("Access-Control-Allow-Origin", origin)?;
    headers.set("Access-Control-Expose-Headers", cors::EXPOSE_HEADERS)?;
    if req.method() == worker::Method::Options {
        headers.set("Access-Control-Allow-Methods", cors::ALLOW_METHODS)?;
        headers.set("Access-Control-Allow-Headers", cors::ALLOW_HEADERS)?;
        headers.set("Access-Control-Max-Age", cors::MAX_AGE_SECONDS)?;
    }
    Ok(response)
}

fn with_request_id(mut response: Response, request_id: &str) -> worker::Result<Response> {
    response.headers_mut().set("X-Request-Id", request_id)?;
    Ok(response)
}
