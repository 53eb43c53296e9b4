//! `PUT /api/v1/list_items/upload_image`, top to bottom in the order of checks of API.md §3
//! (step 1, the route itself, is decided by the router).

use std::cell::Cell;
use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::time::Duration;

use futures_channel::oneshot;
use futures_util::future::{select, Either};
use url::Url;
use worker::{AbortController, Context, Delay, Env, Request, ResponseBody};

use crate::api::envelope::Envelope;
use crate::api::failure::Failure;
use crate::api::log::RequestLog;
use crate::api::params::{body_kind, decode, parse_direct_upload, parse_upload, query_pairs, query_params, BodyKind};
use crate::api::failure::UrlFailure;
use crate::auth::kv_store::authenticate;
use crate::bindings::{binding, Kv};
use crate::commit::{commit, storage_timeout, ItemStore, NewObject, ObjectWrite, Reply, Target};
use crate::config::Limits;
use crate::edge::{ascii_url, now, now_ms, random_hex, read_capped_body, scalar_var};
use crate::fetch::remote::{announced_length, open};
use crate::image::ImageFormat;
use crate::list_item::{image_path, item_view, object_key, ImageFields, Row};
use crate::store::images::{ImageBucket, ImageWrite, ObjectSpec};
use crate::store::list_items::ListItems;
use crate::streams::PieceReader;
use crate::transfer::{receive, Body, Received, TransferError, Waiting, PIECE};

fn not_found() -> Failure {
    Failure::InvalidParam { param: "id", reason: "not-found" }
}

pub async fn upload_image(req: &mut Request, env: &Env, ctx: &Context, log: &mut RequestLog) -> Result<Envelope, Failure> {
    // 2. Bindings this route needs.
    let sessions: Kv = binding(env, "SESSIONS").ok_or(Failure::ServiceNotFound("SESSIONS"))?;
    let items = ListItems(binding(env, "DB").ok_or(Failure::ServiceNotFound("DB"))?);
    let images = ImageBucket(env.bucket("IMAGES").map_err(|_| Failure::ServiceNotFound("IMAGES"))?);

    // 3. Content type: JSON params, or the image itself (a direct upload, API.md §7).
    let headers = req.headers().clone();
    let header = |name: &str| headers.get(name).ok().flatten();
    let kind = body_kind(header("content-type").as_deref()).ok_or(Failure::InvalidContentType)?;
    let authorization = header("authorization");

    // 4. Decode the params: the JSON body with the query merged in, or for a direct upload the
    // query alone (its body is not read before the session is known).
    let url = req.url().map_err(|e| Failure::Crash(format!("request URL: {e}")))?;
    let query = query_pairs(url.query())?;
    let mut raw = match kind {
        BodyKind::Params => {
            let body = read_capped_body(req).await.map_err(|_| Failure::InvalidEncodedParams("body could not be read"))?;
            decode(&body, query)?
        }
        BodyKind::Image => query_params(query),
    };

    // 5. Session.
    let token = raw.token(authorization.as_deref())?;
    let auth = authenticate(&sessions, ctx, token, now()).await?;
    log.user_id = Some(auth.session.user_id);
    // 5b. Every request that passes the session check counts, whatever happens next.
    crate::rate_limit::count_upload(env, auth.session.user_id).await?;

    let limits = || Limits::from_vars(|name| scalar_var(env, name)).map_err(Failure::Crash);

    // 6. Params.
    let (id, source) = match kind {
        BodyKind::Params => {
            raw.normalize_image_url(ascii_url);
            let params = parse_upload(&raw)?;
            (params.id, ImageSource::Url(params.image_url))
        }
        BodyKind::Image => {
            let announced = header("content-length").and_then(|length| length.trim().parse::<u64>().ok());
            let started = now_ms();
            let mut reader = match req.inner().body().filter(|_| announced != Some(0)) {
                Some(stream) => Some(PieceReader::new(&stream, PIECE).map_err(Failure::Crash)?),
                None => None,
            };
            if announced.is_none() {
                // A body sent without a length (chunked) may still be empty: only its first
                // byte tells, and the body is a param (step 6, before the item lookup). If it
                // fails to come, the other params' own failures are still answered first.
                reader = match first_byte(reader, limits()?.upload_timeout_ms).await {
                    Ok(reader) => reader,
                    Err(image) => return Err(parse_direct_upload(&raw, false).err().unwrap_or(image)),
                };
            }
            let params = parse_direct_upload(&raw, reader.is_none())?;
            let reader = reader.ok_or_else(|| Failure::MissingParams(vec!["image"]))?;
            (params.id, ImageSource::Body { reader: Cell::new(Some(reader)), announced, started })
        }
    };
    log.list_item_id = Some(id);

    // 7. The list item exists.
    let item = items.find(id).await.map_err(Failure::Crash)?.ok_or_else(not_found)?;

    // 8. Receive and validate the image, 9. store it and point the record at it. Under
    // ctx.wait_until: a client hanging up cannot cut this between the R2 write and the D1
    // update; the answer comes back as soon as it is known, the cleanup may go on after it.
    let limits = limits()?;
    let job = StoreJob {
        items,
        images,
        limits,
        id,
        source,
        user_id: auth.session.user_id,
        public_origin: url.origin().ascii_serialization(),
        item,
        report: Rc::default(),
    };
    let report = job.report.clone();
    let (sender, receiver) = oneshot::channel();
    ctx.wait_until(job.run(Reply::new(sender)));
    let updated = receiver.await.map_err(|_| Failure::Crash("store job ended without an answer".into()))?;
    log.fetch_validate_ms = report.fetch_validate_ms.get();
    log.r2_ms = report.r2_ms.get();
    log.d1_ms = report.d1_ms.get();
    log.bytes = report.bytes.get();
    log.streamed = report.streamed.get();
    Ok(Envelope::success(item_view(&updated?), auth.view))
}

/// The direct upload's reader, or `None` if its body ends before its first byte (which must
/// come within `timeout_ms`).
async fn first_byte(reader: Option<PieceReader>, timeout_ms: u64) -> Result<Option<PieceReader>, Failure> {
    let Some(mut reader) = reader else { return Ok(None) };
    let image_failure = |reason| Failure::InvalidParam { param: "image", reason };
    let stop = reader.stopper();
    let deadline = Delay::from(Duration::from_millis(timeout_ms));
    let empty = match select(pin!(reader.is_empty()), deadline).await {
        Either::Left((Ok(empty), _)) => empty,
        Either::Left((Err(_), _)) => return Err(image_failure("corrupt")), // it broke off
        Either::Right(_) => {
            stop.cancel();
            return Err(image_failure(UrlFailure::Timeout.reason()));
        }
    };
    Ok((!empty).then_some(reader))
}

/// Where the image comes from.
enum ImageSource {
    /// Fetched from the origin, under `FETCH_TIMEOUT_MS`.
    Url(Url),
    /// The request's own body (API.md §7), under `UPLOAD_TIMEOUT_MS` from `started` (ms).
    Body { reader: Cell<Option<PieceReader>>, announced: Option<u64>, started: f64 },
}

impl ImageSource {
    /// The §4 custom metadata besides the item and the user.
    fn metadata(&self) -> (&'static str, String) {
        match self.source_url() {
            Some(url) => ("source_url", url),
            None => ("upload", "direct".to_string()),
        }
    }

    /// What D1's `image_source_url` records: the fetched URL, none for a direct upload.
    fn source_url(&self) -> Option<String> {
        match self {
            ImageSource::Url(url) => Some(url.to_string()),
            ImageSource::Body { .. } => None,
        }
    }

    /// How a body that is not a storable image is answered.
    fn rejected(&self, failure: UrlFailure) -> Failure {
        match (self, failure) {
            (ImageSource::Url(_), failure) => Failure::InvalidUrl(failure),
            (ImageSource::Body { .. }, UrlFailure::Empty) => Failure::MissingParams(vec!["image"]),
            // A client body that breaks off is a truncated image.
            (ImageSource::Body { .. }, UrlFailure::Unreachable) => Failure::InvalidParam { param: "image", reason: "corrupt" },
            (ImageSource::Body { .. }, failure) => Failure::InvalidParam { param: "image", reason: failure.reason() },
        }
    }
}

/// Steps 8 and 9, owning everything they touch so they can outlive the client's connection.
struct StoreJob {
    items: ListItems,
    images: ImageBucket,
    limits: Limits,
    id: i64,
    source: ImageSource,
    user_id: i64,
    public_origin: String,
    item: Row,
    report: Rc<StoreReport>,
}

/// What the job did, for the request's log line; filled in as it happens, so it is complete
/// up to the answer whenever the answer is sent.
#[derive(Default)]
struct StoreReport {
    fetch_validate_ms: Cell<Option<f64>>,
    r2_ms: Cell<Option<f64>>,
    d1_ms: Cell<Option<f64>>,
    bytes: Cell<Option<u64>>,
    streamed: Cell<Option<bool>>,
}

/// A storage adapter that adds the time each call takes to a field of the report.
struct Timed<'a, T> {
    inner: T,
    ms: &'a Cell<Option<f64>>,
}

fn add_elapsed(ms: &Cell<Option<f64>>, started: f64) {
    ms.set(Some(ms.get().unwrap_or(0.0) + now_ms() - started));
}

impl ObjectWrite for Timed<'_, ImageWrite> {
    async fn close(&mut self) -> Result<(), String> {
        let started = now_ms();
        let closed = self.inner.close().await;
        add_elapsed(self.ms, started);
        closed
    }
}

impl ItemStore for Timed<'_, &ListItems> {
    async fn find(&self, id: i64) -> Result<Option<Row>, String> {
        let started = now_ms();
        let found = self.inner.find(id).await;
        add_elapsed(self.ms, started);
        found
    }

    async fn replace_image(&self, id: i64, expected: Option<&str>, fields: &ImageFields) -> Result<Option<Row>, String> {
        let started = now_ms();
        let replaced = self.inner.replace_image(id, expected, fields).await;
        add_elapsed(self.ms, started);
        replaced
    }
}

impl StoreJob {
    async fn run(self, reply: Reply) {
        let random = match random_hex(16) {
            Ok(random) => random,
            Err(e) => return reply.send(Err(Failure::Crash(e))),
        };
        let (source_name, source_value) = self.source.metadata();
        let spec = |format: ImageFormat| ObjectSpec {
            key: object_key(self.id, &random, format),
            content_type: format.content_type(),
            metadata: vec![
                (source_name, source_value.clone()),
                ("list_item_id", self.id.to_string()),
                ("user_id", self.user_id.to_string()),
            ],
        };
        let started = now_ms();
        let received = self.receive(spec, &reply).await;
        self.report.fetch_validate_ms.set(Some(now_ms() - started));
        let received = match received {
            Ok(received) => received,
            Err(TransferError::Rejected(failure)) => return reply.send(Err(self.source.rejected(failure))),
            Err(TransferError::Store(detail)) => return reply.send(Err(Failure::Crash(detail))),
        };
        self.report.bytes.set(Some(received.image.bytes));
        self.report.streamed.set(Some(received.write.streamed()));
        let public_url = format!("{}{}", self.public_origin, image_path(&received.key));
        let fields = ImageFields::new(&received.image, received.key.clone(), public_url, self.source.source_url());
        let object = NewObject { key: received.key, write: Timed { inner: received.write, ms: &self.report.r2_ms } };
        let items = Timed { inner: &self.items, ms: &self.report.d1_ms };
        let log = |event: serde_json::Value| worker::console_error!("{event}");
        let target = Target { objects: &self.images, items: &items, log: &log };
        let deadline = Delay::from(Duration::from_millis(self.limits.store_timeout_ms));
        commit(target, object, self.id, self.item.clone(), &fields, deadline, &reply).await;
    }

    /// Step 8: every byte received, proven and written but the last, within the source's
    /// deadline.
    async fn receive(&self, spec: impl Fn(ImageFormat) -> ObjectSpec, reply: &Reply) -> Result<Received, TransferError> {
        let waiting = Waiting::default();
        match &self.source {
            ImageSource::Url(url) => {
                let controller = AbortController::default();
                let signal = controller.signal();
                let work = async {
                    let response = open(url, &self.limits, &signal).await?;
                    let announced = announced_length(&response);
                    let ResponseBody::Stream(stream) = response.body() else { return Err(UrlFailure::Empty.into()) };
                    let reader = PieceReader::new(stream, PIECE).map_err(TransferError::Store)?;
                    receive(Body { reader, announced }, self.limits, &self.images, spec, &waiting).await
                };
                // Cancelling the origin request makes the pipeline fail at its next read.
                self.within(work, self.limits.fetch_timeout_ms, || controller.abort(), &waiting, reply).await
            }
            ImageSource::Body { reader, announced, started } => {
                let reader = reader.take().ok_or_else(|| TransferError::Store("the body was already read".into()))?;
                let stop = reader.stopper();
                let work = receive(Body { reader, announced: *announced }, self.limits, &self.images, spec, &waiting);
                // The deadline runs from step 6, where the first byte of a body without a
                // length may already have been waited for.
                let left = self.limits.upload_timeout_ms.saturating_sub((now_ms() - started).max(0.0) as u64);
                self.within(work, left, move || stop.cancel(), &waiting, reply).await
            }
        }
    }

    /// Runs `work` until `timeout_ms`; then `stop`s its body, which makes it end and abort
    /// its write. A storage call in flight is let finish first (no write is left in
    /// progress), for at most STORE_TIMEOUT_MS before the client hears.
    async fn within(
        &self,
        work: impl Future<Output = Result<Received, TransferError>>,
        timeout_ms: u64,
        stop: impl FnOnce(),
        waiting: &Waiting,
        reply: &Reply,
    ) -> Result<Received, TransferError> {
        let work = pin!(work);
        let deadline = Delay::from(Duration::from_millis(timeout_ms));
        let (work, late) = match select(work, deadline).await {
            Either::Left((received, _)) => return received,
            Either::Right(((), work)) => (work, if waiting.on_storage() { storage_timeout() } else { Failure::InvalidUrl(UrlFailure::Timeout) }),
        };
        stop();
        let store_deadline = Delay::from(Duration::from_millis(self.limits.store_timeout_ms));
        let wound_down = match select(work, store_deadline).await {
            Either::Left((wound_down, _)) => wound_down,
            Either::Right(((), work)) => {
                reply.send(Err(match &late {
                    Failure::InvalidUrl(failure) => self.source.rejected(*failure),
                    other => other.clone(),
                }));
                work.await
            }
        };
        if let Ok(mut received) = wound_down {
            received.write.abort().await; // the last byte came, but too late
        }
        Err(match late {
            Failure::InvalidUrl(failure) => TransferError::Rejected(failure),
            other => TransferError::Store(other.log_reason()),
        })
    }
}
