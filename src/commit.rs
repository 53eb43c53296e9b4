//! The commit protocol of a new image object (ARCHITECTURE.md, "one owner per new object").
//! Pure: R2 and D1 sit behind the small traits below, so every failure can be injected natively.
//!
//! The new object's write is open when this starts (every byte proven, the write not yet
//! closed). Exactly one of two things then happens to it:
//! - commit: the write closes, the list item is switched to it by compare-and-swap, and only
//!   then is the object it replaced deleted;
//! - discard: the write is aborted, or (once it can no longer commit) its key is deleted.
//!
//! `STORE_TIMEOUT_MS` bounds how long the client waits, not what the protocol does: at the
//! deadline the client hears `application-crash` (or, once the record points at the new
//! object, its success: only the replaced object's delete is left), while the protocol runs on
//! (under `waitUntil`) until the write and any update in flight have settled, because a key
//! whose write may still commit must not be deleted, nor a record left pointing at nothing.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::pin;

use futures_channel::oneshot;
use futures_util::future::{select, Either};
use serde_json::{json, Value};

use crate::api::failure::Failure;
use crate::list_item::{image_key, ImageFields, Row};

/// The open write of the new object.
#[allow(async_fn_in_trait)] // single-threaded (wasm): no Send bounds wanted
pub trait ObjectWrite {
    /// Finishes the write. Once this returns, either way, the write can no longer commit.
    async fn close(&mut self) -> Result<(), String>;
}

#[allow(async_fn_in_trait)]
pub trait ObjectStore {
    async fn delete(&self, key: &str) -> Result<(), String>;
}

#[allow(async_fn_in_trait)]
pub trait ItemStore {
    async fn find(&self, id: i64) -> Result<Option<Row>, String>;
    /// Points the item at `fields` only if it still points at `expected`; `Ok(None)` when the
    /// row changed or vanished meanwhile.
    async fn replace_image(&self, id: i64, expected: Option<&str>, fields: &ImageFields) -> Result<Option<Row>, String>;
}

/// What the client is told.
pub type Answer = Result<Row, Failure>;

/// Where the answer goes: the first one sent is the client's, later ones are dropped (the
/// work they end goes on in the background).
pub struct Reply(RefCell<Option<oneshot::Sender<Answer>>>);

impl Reply {
    pub fn new(sender: oneshot::Sender<Answer>) -> Self {
        Reply(RefCell::new(Some(sender)))
    }

    pub fn send(&self, answer: Answer) {
        if let Some(sender) = self.0.borrow_mut().take() {
            let _ = sender.send(answer);
        }
    }
}

/// How the protocol ended, for tests and the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    /// The record points at the new object.
    Committed,
    /// Nothing points at the new object and it is gone (or never became visible).
    Discarded,
    /// The record could not be read back: the object is kept for the scheduled sweep to judge.
    Unknown,
}

pub struct NewObject<W> {
    pub key: String,
    pub write: W,
}

pub struct Target<'a, O, I> {
    pub objects: &'a O,
    pub items: &'a I,
    /// Events worth a log line (internal detail, never sent to the client).
    pub log: &'a dyn Fn(Value),
}

fn not_found() -> Failure {
    Failure::InvalidParam { param: "id", reason: "not-found" }
}

pub fn storage_timeout() -> Failure {
    Failure::Crash("storage did not finish within STORE_TIMEOUT_MS".into())
}

/// Closes the write and points item `id` (last read as `item`) at it. The answer is sent to
/// `reply` as soon as it is known (at the latest at `deadline`); the returned future ends
/// when nothing is in flight any more.
pub async fn commit<W: ObjectWrite, O: ObjectStore, I: ItemStore>(
    target: Target<'_, O, I>,
    mut object: NewObject<W>,
    id: i64,
    item: Row,
    fields: &ImageFields,
    deadline: impl Future<Output = ()>,
    reply: &Reply,
) -> Settled {
    let timed_out = Cell::new(false);
    let switched = RefCell::new(None);
    let key = object.key.clone();
    let work = pin!(run(&target, &mut object, id, item, fields, &timed_out, &switched, reply));
    match select(work, pin!(deadline)).await {
        Either::Left((settled, _)) => settled,
        Either::Right(((), work)) => {
            timed_out.set(true);
            // The record already points at the new object: that is the answer, however long
            // the old object's delete takes.
            reply.send(switched.take().ok_or_else(storage_timeout));
            let settled = work.await;
            (target.log)(json!({"event": "store-timeout", "key": key, "settled": format!("{settled:?}")}));
            settled
        }
    }
}

async fn run<W: ObjectWrite, O: ObjectStore, I: ItemStore>(
    target: &Target<'_, O, I>,
    object: &mut NewObject<W>,
    id: i64,
    mut item: Row,
    fields: &ImageFields,
    timed_out: &Cell<bool>,
    switched: &RefCell<Option<Row>>,
    reply: &Reply,
) -> Settled {
    if let Err(e) = object.write.close().await {
        // A failed close may still have stored the object (an error after the commit point):
        // the write has settled, so deleting the key is safe now.
        reply.send(Err(Failure::Crash(format!("closing the R2 write failed: {e}"))));
        return discard(target, &object.key).await;
    }
    if timed_out.get() {
        // The client has been told it failed: do not make it true behind their back.
        return discard(target, &object.key).await;
    }
    let failure = match point_item_at(target.items, id, &mut item, fields, timed_out).await {
        Ok(Some(updated)) => return committed(target, updated, image_key(&item), &object.key, switched, reply).await,
        Ok(None) => not_found(),
        Err(failure) => failure,
    };
    // The update may have committed before its error reached us: only the record can tell.
    match target.items.find(id).await {
        Ok(Some(current)) if image_key(&current) == Some(object.key.as_str()) => {
            (target.log)(json!({"event": "update-error-but-committed", "key": object.key}));
            committed(target, current, image_key(&item), &object.key, switched, reply).await
        }
        Ok(_) => {
            reply.send(Err(failure));
            discard(target, &object.key).await
        }
        Err(e) => {
            // Unknown: deleting could leave a record pointing at nothing; an unreferenced
            // object is found and deleted by the scheduled sweep.
            (target.log)(json!({"event": "new-object-kept-unverified", "key": object.key, "error": e}));
            reply.send(Err(failure));
            Settled::Unknown
        }
    }
}

async fn committed<O: ObjectStore, I: ItemStore>(
    target: &Target<'_, O, I>,
    updated: Row,
    replaced: Option<&str>,
    new_key: &str,
    switched: &RefCell<Option<Row>>,
    reply: &Reply,
) -> Settled {
    *switched.borrow_mut() = Some(updated.clone());
    if let Some(old) = replaced.filter(|old| *old != new_key) {
        if let Err(e) = target.objects.delete(old).await {
            // The record is already right; the sweep deletes the leftover.
            (target.log)(json!({"event": "old-image-delete-failed", "key": old, "error": e}));
        }
    }
    // After the delete: a client that reads the item's objects once answered sees one (unless
    // the store deadline passed during the delete and answered already).
    reply.send(Ok(updated));
    Settled::Committed
}

async fn discard<O: ObjectStore, I: ItemStore>(target: &Target<'_, O, I>, key: &str) -> Settled {
    match target.objects.delete(key).await {
        Ok(()) => Settled::Discarded,
        Err(e) => {
            (target.log)(json!({"event": "orphan-delete-failed", "key": key, "error": e}));
            Settled::Unknown
        }
    }
}

/// Compare-and-swap the image fields; `Ok(Some(row))` once switched (`item` then holds the row
/// as it was just before), `Ok(None)` if the item disappeared meanwhile. A lost swap means
/// another upload to the item committed, so it is retried for as long as the store deadline
/// allows (a fixed number of attempts failed valid uploads once four raced for one item).
async fn point_item_at<I: ItemStore>(
    items: &I,
    id: i64,
    item: &mut Row,
    fields: &ImageFields,
    timed_out: &Cell<bool>,
) -> Result<Option<Row>, Failure> {
    while !timed_out.get() {
        let expected = image_key(item).map(str::to_string);
        if let Some(updated) = items.replace_image(id, expected.as_deref(), fields).await.map_err(Failure::Crash)? {
            return Ok(Some(updated));
        }
        match items.find(id).await.map_err(Failure::Crash)? {
            Some(current) => *item = current,
            None => return Ok(None),
        }
    }
    Err(Failure::Crash(format!("list item {id} kept changing until the store deadline")))
}

#[cfg(test)]
mod tests;
