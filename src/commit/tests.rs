//! The commit protocol against fakes that inject each failure (the way cloudflare/azul tests
//! its object backend). Every fake appends to one journal, so the tests can check the order of
//! effects, not just the end state.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use std::pin::pin;
use std::task::{Context, Poll, Waker};

use futures_channel::oneshot;
use futures_util::FutureExt;
use serde_json::json;

use super::*;
use crate::image::ImageFormat;

const NEW: &str = "list_items/7/new.png";
const OLD: &str = "list_items/7/old.png";

type Journal = Rc<RefCell<Vec<String>>>;

/// A gate the test opens later: the operation behind it is "in flight" until then.
fn gate() -> (oneshot::Sender<()>, Option<oneshot::Receiver<()>>) {
    let (open, wait) = oneshot::channel();
    (open, Some(wait))
}

struct FakeWrite {
    journal: Journal,
    result: Result<(), String>,
    gate: Option<oneshot::Receiver<()>>,
}

impl ObjectWrite for FakeWrite {
    async fn close(&mut self) -> Result<(), String> {
        if let Some(gate) = self.gate.take() {
            let _ = gate.await;
        }
        self.journal.borrow_mut().push("close".into());
        self.result.clone()
    }
}

struct FakeObjects {
    journal: Journal,
    fail_deletes: bool,
    /// Holds the next delete in flight until the test opens it.
    delete_gate: RefCell<Option<oneshot::Receiver<()>>>,
}

impl ObjectStore for FakeObjects {
    async fn delete(&self, key: &str) -> Result<(), String> {
        let gate = self.delete_gate.borrow_mut().take();
        if let Some(gate) = gate {
            let _ = gate.await;
        }
        self.journal.borrow_mut().push(format!("delete {key}"));
        if self.fail_deletes { Err("injected delete failure".into()) } else { Ok(()) }
    }
}

/// What the next `replace_image` call does, beyond the plain compare-and-swap.
enum Injection {
    /// Another upload switches the row to this key just before the swap.
    ConcurrentUpload(&'static str),
    /// The row is deleted just before the swap.
    ItemDeleted,
    /// The swap applies but its answer is lost.
    ErrorAfterCommit,
    /// The swap fails without applying.
    ErrorBeforeCommit,
    /// The swap waits for this gate (an update in flight).
    Gated(Option<oneshot::Receiver<()>>),
}

struct FakeItems {
    journal: Journal,
    rows: RefCell<HashMap<i64, Row>>,
    injections: RefCell<Vec<Injection>>,
    fail_finds: bool,
}

impl FakeItems {
    fn key_of(&self, id: i64) -> Option<String> {
        self.rows.borrow().get(&id).and_then(image_key).map(str::to_string)
    }
    fn set_key(&self, id: i64, key: &str) {
        if let Some(row) = self.rows.borrow_mut().get_mut(&id) {
            row.insert("image_key".into(), json!(key));
        }
    }
}

impl ItemStore for FakeItems {
    async fn find(&self, id: i64) -> Result<Option<Row>, String> {
        self.journal.borrow_mut().push("find".into());
        if self.fail_finds {
            return Err("injected find failure".into());
        }
        Ok(self.rows.borrow().get(&id).cloned())
    }

    async fn replace_image(&self, id: i64, expected: Option<&str>, fields: &ImageFields) -> Result<Option<Row>, String> {
        let injection = {
            let mut injections = self.injections.borrow_mut();
            (!injections.is_empty()).then(|| injections.remove(0))
        };
        let mut error = None;
        match injection {
            Some(Injection::ConcurrentUpload(key)) => self.set_key(id, key),
            Some(Injection::ItemDeleted) => drop(self.rows.borrow_mut().remove(&id)),
            Some(Injection::ErrorAfterCommit) => error = Some("injected error after commit"),
            Some(Injection::ErrorBeforeCommit) => return Err("injected error before commit".into()),
            Some(Injection::Gated(Some(gate))) => drop(gate.await),
            Some(Injection::Gated(None)) | None => {}
        }
        self.journal.borrow_mut().push(format!("replace {expected:?} -> {}", fields.key));
        let swapped = match self.rows.borrow_mut().get_mut(&id) {
            Some(row) if image_key(row) == expected => {
                row.insert("image_key".into(), json!(fields.key));
                Some(row.clone())
            }
            _ => None,
        };
        match error {
            Some(e) => Err(e.into()),
            None => Ok(swapped),
        }
    }
}

struct World {
    journal: Journal,
    objects: FakeObjects,
    items: FakeItems,
    logged: RefCell<Vec<Value>>,
}

impl World {
    fn new() -> Self {
        let journal = Journal::default();
        let row: Row = serde_json::from_value(json!({"id": 7, "image_key": OLD})).unwrap();
        World {
            objects: FakeObjects { journal: journal.clone(), fail_deletes: false, delete_gate: RefCell::new(None) },
            items: FakeItems {
                journal: journal.clone(),
                rows: RefCell::new(HashMap::from([(7, row)])),
                injections: RefCell::new(Vec::new()),
                fail_finds: false,
            },
            journal,
            logged: RefCell::new(Vec::new()),
        }
    }

    fn write(&self, result: Result<(), String>, gate: Option<oneshot::Receiver<()>>) -> NewObject<FakeWrite> {
        NewObject { key: NEW.into(), write: FakeWrite { journal: self.journal.clone(), result, gate } }
    }

    fn journal(&self) -> Vec<String> {
        self.journal.borrow().clone()
    }

    fn logged(&self, event: &str) -> bool {
        self.logged.borrow().iter().any(|line| line["event"] == event)
    }
}

fn fields() -> ImageFields {
    ImageFields {
        url: format!("https://w.test/images/{NEW}"),
        key: NEW.into(),
        content_type: ImageFormat::Png.content_type(),
        width: 1,
        height: 1,
        bytes: 10,
        sha256: "00".into(),
        source_url: None,
    }
}

/// Runs the protocol to completion with no deadline; returns the answer and how it settled.
fn run(world: &World, object: NewObject<FakeWrite>) -> (Answer, Settled) {
    run_until(world, object, std::future::pending(), Vec::new())
}

/// A step run once everything that can run has run, given the answer sent so far; it opens
/// gates or passes the deadline.
type Step<'a> = Box<dyn FnOnce(Option<&Answer>) + 'a>;

/// Runs the protocol, polling after each step. Every fake resolves at once or waits on a gate,
/// so polling with a no-op waker is enough: no executor.
fn run_until(world: &World, object: NewObject<FakeWrite>, deadline: impl Future<Output = ()>, steps: Vec<Step<'_>>) -> (Answer, Settled) {
    let (sender, mut receiver) = oneshot::channel();
    let log = |line: Value| world.logged.borrow_mut().push(line);
    let item = world.items.rows.borrow()[&7].clone();
    let target = Target { objects: &world.objects, items: &world.items, log: &log };
    let fields = fields();
    let reply = Reply::new(sender);
    let mut protocol = pin!(commit(target, object, 7, item, &fields, deadline, &reply));
    let mut cx = Context::from_waker(Waker::noop());
    let mut answer = None;
    let mut poll = |answer: &mut Option<Answer>| {
        let settled = protocol.as_mut().poll(&mut cx);
        if answer.is_none() {
            *answer = receiver.try_recv().ok().flatten();
        }
        settled
    };
    let mut settled = poll(&mut answer);
    for step in steps {
        assert!(settled.is_pending(), "the protocol ended before every step ran");
        step(answer.as_ref());
        settled = poll(&mut answer);
    }
    let Poll::Ready(settled) = settled else { panic!("the protocol is still waiting after every step") };
    (answer.expect("an answer is always sent"), settled)
}

#[test]
fn commits_then_deletes_the_replaced_object() {
    let world = World::new();
    let (answer, settled) = run(&world, world.write(Ok(()), None));
    assert_eq!(settled, Settled::Committed);
    assert_eq!(image_key(&answer.unwrap()), Some(NEW));
    assert_eq!(world.journal(), ["close", &format!("replace Some({OLD:?}) -> {NEW}"), &format!("delete {OLD}")]);
}

#[test]
fn compare_and_swap_retries_after_a_concurrent_upload() {
    let world = World::new();
    world.items.injections.borrow_mut().push(Injection::ConcurrentUpload("list_items/7/other.png"));
    let (answer, settled) = run(&world, world.write(Ok(()), None));
    assert_eq!(settled, Settled::Committed);
    assert_eq!(image_key(&answer.unwrap()), Some(NEW));
    // The object the record really pointed at just before the swap is the one deleted.
    assert_eq!(world.journal().last().unwrap(), "delete list_items/7/other.png");
    assert!(!world.journal().contains(&format!("delete {OLD}")), "{OLD} belongs to nobody we replaced");
}

#[test]
fn many_concurrent_uploads_do_not_exhaust_the_swap() {
    // Every lost swap means a rival committed: ten in a row still end in this upload's commit.
    let world = World::new();
    for n in 0..10 {
        world.items.injections.borrow_mut().push(Injection::ConcurrentUpload(["list_items/7/a.png", "list_items/7/b.png"][n % 2]));
    }
    let (answer, settled) = run(&world, world.write(Ok(()), None));
    assert_eq!(settled, Settled::Committed);
    assert_eq!(image_key(&answer.unwrap()), Some(NEW));
    assert_eq!(world.journal().last().unwrap(), "delete list_items/7/b.png");
}

#[test]
fn an_item_that_keeps_changing_until_the_deadline_is_a_crash_and_the_new_object_goes() {
    let world = World::new();
    let (open_update, update_gate) = gate();
    world.items.injections.borrow_mut().push(Injection::ConcurrentUpload("list_items/7/a.png"));
    world.items.injections.borrow_mut().push(Injection::Gated(update_gate));
    let (deadline_open, deadline) = oneshot::channel::<()>();
    let steps: Vec<Step> = vec![
        Box::new(|_| deadline_open.send(()).unwrap()),
        Box::new(|early| {
            assert!(matches!(early, Some(Err(Failure::Crash(_)))));
            // The gated swap was in flight at the deadline: a rival got there first meanwhile.
            world.items.set_key(7, "list_items/7/b.png");
            open_update.send(()).unwrap();
        }),
    ];
    let (answer, settled) = run_until(&world, world.write(Ok(()), None), deadline.map(|_| ()), steps);
    assert!(matches!(answer, Err(Failure::Crash(_))));
    assert_eq!(settled, Settled::Discarded, "no retry after the deadline");
    assert_eq!(world.items.key_of(7).as_deref(), Some("list_items/7/b.png"));
    assert_eq!(world.journal().last().unwrap(), &format!("delete {NEW}"));
}

#[test]
fn an_item_deleted_mid_upload_is_not_found_and_the_new_object_goes() {
    let world = World::new();
    world.items.injections.borrow_mut().push(Injection::ItemDeleted);
    let (answer, settled) = run(&world, world.write(Ok(()), None));
    assert_eq!(answer.unwrap_err(), Failure::InvalidParam { param: "id", reason: "not-found" });
    assert_eq!(settled, Settled::Discarded);
    assert_eq!(world.journal().last().unwrap(), &format!("delete {NEW}"));
}

#[test]
fn an_update_that_errors_but_committed_is_a_success() {
    let world = World::new();
    world.items.injections.borrow_mut().push(Injection::ErrorAfterCommit);
    let (answer, settled) = run(&world, world.write(Ok(()), None));
    assert_eq!(settled, Settled::Committed);
    assert_eq!(image_key(&answer.unwrap()), Some(NEW));
    assert_eq!(world.items.key_of(7).as_deref(), Some(NEW));
    assert_eq!(world.journal().last().unwrap(), &format!("delete {OLD}"));
    assert!(!world.journal().contains(&format!("delete {NEW}")));
    assert!(world.logged("update-error-but-committed"));
}

#[test]
fn an_update_that_failed_deletes_the_new_object() {
    let world = World::new();
    world.items.injections.borrow_mut().push(Injection::ErrorBeforeCommit);
    let (answer, settled) = run(&world, world.write(Ok(()), None));
    assert!(matches!(answer, Err(Failure::Crash(_))));
    assert_eq!(settled, Settled::Discarded);
    assert_eq!(world.items.key_of(7).as_deref(), Some(OLD), "the record still points at the old image");
    assert!(!world.journal().contains(&format!("delete {OLD}")));
    assert_eq!(world.journal().last().unwrap(), &format!("delete {NEW}"));
}

#[test]
fn an_unverifiable_update_keeps_the_new_object_for_the_sweep() {
    let mut world = World::new();
    world.items.fail_finds = true;
    world.items.injections.borrow_mut().push(Injection::ErrorBeforeCommit);
    let (answer, settled) = run(&world, world.write(Ok(()), None));
    assert!(matches!(answer, Err(Failure::Crash(_))));
    assert_eq!(settled, Settled::Unknown);
    assert!(world.journal().iter().all(|e| !e.starts_with("delete")), "{:?}", world.journal());
    assert!(world.logged("new-object-kept-unverified"));
}

#[test]
fn a_failed_delete_of_the_old_object_is_still_a_success() {
    let mut world = World::new();
    world.objects.fail_deletes = true;
    let (answer, settled) = run(&world, world.write(Ok(()), None));
    assert_eq!(settled, Settled::Committed);
    assert_eq!(image_key(&answer.unwrap()), Some(NEW));
    assert!(world.logged("old-image-delete-failed"));
}

#[test]
fn a_failed_close_deletes_the_key_and_leaves_the_record() {
    let world = World::new();
    let (answer, settled) = run(&world, world.write(Err("R2 put failed".into()), None));
    assert!(matches!(answer, Err(Failure::Crash(_))));
    assert_eq!(settled, Settled::Discarded);
    assert_eq!(world.journal(), ["close".to_string(), format!("delete {NEW}")]);
    assert_eq!(world.items.key_of(7).as_deref(), Some(OLD));
}

#[test]
fn a_store_timeout_answers_at_once_but_deletes_nothing_until_the_write_settles() {
    let world = World::new();
    let (open_close, close_gate) = gate();
    let steps: Vec<Step> = vec![Box::new(|early| {
        assert!(matches!(early, Some(Err(Failure::Crash(_)))), "answered at the deadline: {early:?}");
        assert!(world.journal().is_empty(), "nothing touched while the write may commit: {:?}", world.journal());
        open_close.send(()).unwrap();
    })];
    let (answer, settled) = run_until(&world, world.write(Ok(()), close_gate), async {}, steps);
    assert!(matches!(answer, Err(Failure::Crash(_))));
    // The write committed after the client heard `application-crash`: it is discarded, and
    // the record never learns of it.
    assert_eq!(settled, Settled::Discarded);
    assert_eq!(world.journal(), ["close".to_string(), format!("delete {NEW}")]);
    assert_eq!(world.items.key_of(7).as_deref(), Some(OLD));
    assert!(world.logged("store-timeout"));
}

#[test]
fn a_store_timeout_during_the_update_waits_for_it_and_keeps_a_committed_object() {
    let world = World::new();
    let (open_update, update_gate) = gate();
    world.items.injections.borrow_mut().push(Injection::Gated(update_gate));
    let (deadline_open, deadline) = oneshot::channel::<()>();
    let steps: Vec<Step> = vec![
        Box::new(|early| {
            assert!(early.is_none());
            deadline_open.send(()).unwrap();
        }),
        Box::new(|early| {
            assert!(matches!(early, Some(Err(Failure::Crash(_)))), "answered at the deadline: {early:?}");
            open_update.send(()).unwrap();
        }),
    ];
    let (answer, settled) = run_until(&world, world.write(Ok(()), None), deadline.map(|_| ()), steps);
    assert!(matches!(answer, Err(Failure::Crash(_))), "the deadline passed first: {answer:?}");
    // The update was in flight and applied: the record points at a stored object, and the one
    // it replaced is deleted as usual.
    assert_eq!(settled, Settled::Committed);
    assert_eq!(world.items.key_of(7).as_deref(), Some(NEW));
    assert!(!world.journal().contains(&format!("delete {NEW}")));
    assert_eq!(world.journal().last().unwrap(), &format!("delete {OLD}"));
}

#[test]
fn a_store_timeout_during_the_old_objects_delete_is_still_a_success() {
    let world = World::new();
    let (open_delete, delete_gate) = gate();
    *world.objects.delete_gate.borrow_mut() = delete_gate;
    let (deadline_open, deadline) = oneshot::channel::<()>();
    let steps: Vec<Step> = vec![
        Box::new(|early| {
            assert!(early.is_none(), "nothing answered while the old object's delete is in flight: {early:?}");
            assert_eq!(world.items.key_of(7).as_deref(), Some(NEW));
            deadline_open.send(()).unwrap();
        }),
        Box::new(|early| {
            // The record switched before the deadline: the client hears what is true.
            assert_eq!(image_key(early.unwrap().as_ref().unwrap()), Some(NEW), "answered at the deadline: {early:?}");
            open_delete.send(()).unwrap();
        }),
    ];
    let (answer, settled) = run_until(&world, world.write(Ok(()), None), deadline.map(|_| ()), steps);
    assert_eq!(image_key(&answer.unwrap()), Some(NEW));
    assert_eq!(settled, Settled::Committed);
    assert_eq!(world.journal().last().unwrap(), &format!("delete {OLD}"));
}
