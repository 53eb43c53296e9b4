//! `PUT /api/v1/list_items/upload_image`, top to bottom in the order of checks of API.md §3
//! (step 1, the route itself, is decided by the router).

use std::collections::HashMap;

use futures_channel::oneshot;
use url::Url;
use worker::{Context, Env, Request};

use crate::api::envelope::Envelope;
use crate::api::failure::Failure;
use crate::api::log::RequestLog;
use crate::api::params::{decode, is_json_content_type, parse_upload};
use crate::auth::kv_store::authenticate;
use crate::config::Limits;
use crate::edge::{ascii_url, now, now_ms, read_capped_body, scalar_var};
use crate::list_item::{image_key, image_path, item_view, ImageFields, Row};
use crate::store::{images::ImageBucket, list_items::ListItems};
use crate::transfer::{transfer, ObjectPlan, TransferError};

/// How often the record is re-read when a concurrent upload changed it under us.
const MAX_SWAP_ATTEMPTS: usize = 3;

fn not_found() -> Failure {
    Failure::InvalidParam { param: "id", reason: "not-found" }
}

pub async fn upload_image(req: &mut Request, env: &Env, ctx: &Context, log: &mut RequestLog) -> Result<Envelope, Failure> {
    // 2. Bindings this route needs.
    let sessions = env.kv("SESSIONS").map_err(|_| Failure::ServiceNotFound("SESSIONS"))?;
    let items = ListItems(env.d1("DB").map_err(|_| Failure::ServiceNotFound("DB"))?);
    let images = ImageBucket(env.bucket("IMAGES").map_err(|_| Failure::ServiceNotFound("IMAGES"))?);

    // 3. Content type.
    let header = |name: &str| req.headers().get(name).ok().flatten();
    if !is_json_content_type(header("content-type").as_deref()) {
        return Err(Failure::InvalidContentType);
    }
    let authorization = header("authorization");

    // 4. Decode the body, query merged in.
    let url = req.url().map_err(|e| Failure::Crash(format!("request URL: {e}")))?;
    let body = read_capped_body(req).await.map_err(|_| Failure::InvalidEncodedParams("body could not be read"))?;
    let mut raw = decode(&body, url.query_pairs().into_owned())?;

    // 5. Session.
    let token = raw.token(authorization.as_deref())?;
    let auth = authenticate(&sessions, ctx, token, now()).await?;
    log.user_id = Some(auth.session.user_id);
    // 5b. Every request that passes the session check counts, whatever happens next.
    crate::rate_limit::count_upload(env, auth.session.user_id).await?;

    // 6. Params.
    raw.normalize_image_url(ascii_url);
    let params = parse_upload(&raw)?;
    log.list_item_id = Some(params.id);

    // 7. The list item exists.
    let item = items.find(params.id).await.map_err(Failure::Crash)?.ok_or_else(not_found)?;

    // 8. Fetch and validate the image, 9. store it and point the record at it. Under
    // ctx.wait_until: a client hanging up cannot cut this between the R2 put and the D1
    // update, which would leave an orphan object or an unfinished cleanup.
    let limits = Limits::from_vars(|name| scalar_var(env, name)).map_err(Failure::Crash)?;
    let job = StoreJob {
        items,
        images,
        limits,
        id: params.id,
        image_url: params.image_url,
        user_id: auth.session.user_id,
        public_origin: url.origin().ascii_serialization(),
        item,
    };
    let (sender, receiver) = oneshot::channel();
    ctx.wait_until(async move {
        let _ = sender.send(job.run().await);
    });
    let (updated, report) = receiver.await.map_err(|_| Failure::Crash("store job ended without an answer".into()))?;
    log.fetch_validate_ms = Some(report.fetch_validate_ms);
    log.r2_ms = report.r2_ms;
    log.d1_ms = report.d1_ms;
    log.bytes = report.bytes;
    log.streamed = report.streamed;
    Ok(Envelope::success(item_view(&updated?), auth.view))
}

/// Steps 8 and 9, owning everything they touch so they can outlive the client's connection.
struct StoreJob {
    items: ListItems,
    images: ImageBucket,
    limits: Limits,
    id: i64,
    image_url: Url,
    user_id: i64,
    public_origin: String,
    item: Row,
}

/// What the job did, for the request's log line.
#[derive(Default)]
struct StoreReport {
    fetch_validate_ms: f64,
    r2_ms: Option<f64>,
    d1_ms: Option<f64>,
    bytes: Option<u64>,
    streamed: Option<bool>,
}

impl StoreJob {
    async fn run(self) -> (Result<Row, Failure>, StoreReport) {
        let mut report = StoreReport::default();
        let result = self.store(&mut report).await;
        (result, report)
    }

    async fn store(self, report: &mut StoreReport) -> Result<Row, Failure> {
        let plan = ObjectPlan {
            item_id: self.id,
            metadata: HashMap::from([
                ("source_url".to_string(), self.image_url.to_string()),
                ("list_item_id".to_string(), self.id.to_string()),
                ("user_id".to_string(), self.user_id.to_string()),
            ]),
        };
        let started = now_ms();
        let stored = transfer(&self.image_url, &self.limits, &plan, &self.images).await;
        report.fetch_validate_ms = now_ms() - started;
        let stored = stored.map_err(|e| match e {
            TransferError::Url(failure) => Failure::InvalidUrl(failure),
            TransferError::Store(detail) => Failure::Crash(detail),
        })?;
        report.fetch_validate_ms -= stored.r2_ms;
        report.r2_ms = Some(stored.r2_ms);
        report.bytes = Some(stored.image.bytes);
        report.streamed = Some(stored.streamed);

        // 9b. Point the record at the new object, then drop the object it replaced.
        let started = now_ms();
        let public_url = format!("{}{}", self.public_origin, image_path(&stored.key));
        let fields = ImageFields::new(&stored.image, stored.key, public_url);
        let updated = save(&self.images, &self.items, self.id, self.item, &fields).await;
        report.d1_ms = Some(now_ms() - started);
        updated
    }
}

async fn save(images: &ImageBucket, items: &ListItems, id: i64, mut item: Row, fields: &ImageFields) -> Result<Row, Failure> {
    let (updated, replaced) = match point_item_at(items, id, &mut item, fields).await {
        Ok(Some(done)) => done,
        failed => {
            let failure = failed.err().unwrap_or_else(not_found);
            // The update may have committed before its error reached us: only the record can
            // tell whether the new object is referenced.
            match items.find(id).await {
                Ok(Some(current)) if image_key(&current) == Some(fields.key.as_str()) => {
                    worker::console_error!("{}", serde_json::json!({"event": "update-error-but-committed", "key": fields.key}));
                    (current, image_key(&item).map(str::to_string))
                }
                Ok(_) => {
                    // Nothing points at the new object: remove it before answering.
                    if let Err(e) = images.delete(&fields.key).await {
                        worker::console_error!("{}", serde_json::json!({"event": "orphan-delete-failed", "key": fields.key, "error": e}));
                    }
                    return Err(failure);
                }
                Err(e) => {
                    // Unknown: an orphan object wastes space, a record pointing nowhere breaks clients.
                    worker::console_error!("{}", serde_json::json!({"event": "new-object-kept-unverified", "key": fields.key, "error": e}));
                    return Err(failure);
                }
            }
        }
    };
    if let Some(old_key) = replaced.filter(|old| *old != fields.key) {
        if let Err(e) = images.delete(&old_key).await {
            // The record is already correct; a leftover old object is only wasted space.
            worker::console_error!("{}", serde_json::json!({"event": "old-image-delete-failed", "key": old_key, "error": e}));
        }
    }
    Ok(updated)
}

/// Compare-and-swap the image fields; returns the updated row and the key it replaced, or
/// `None` if the item disappeared meanwhile.
async fn point_item_at(
    items: &ListItems,
    id: i64,
    item: &mut Row,
    fields: &ImageFields,
) -> Result<Option<(Row, Option<String>)>, Failure> {
    for _ in 0..MAX_SWAP_ATTEMPTS {
        let expected = image_key(item).map(str::to_string);
        if let Some(updated) = items.replace_image(id, expected.as_deref(), fields).await.map_err(Failure::Crash)? {
            return Ok(Some((updated, expected)));
        }
        match items.find(id).await.map_err(Failure::Crash)? {
            Some(current) => *item = current,
            None => return Ok(None),
        }
    }
    Err(Failure::Crash(format!("list item {id} kept changing during the update")))
}
