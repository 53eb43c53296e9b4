//! One sweep run over the storage it needs (R2 listing and deletes, D1 references, the KV
//! cursor) behind a small trait, so the walk is tested natively with a fake that injects each
//! failure and race. Pure: no `worker` types.

use std::collections::BTreeSet;

use super::plan::{is_candidate, Listed, Report, Settings, CHUNK};

/// One page of the `list_items/` listing; `next` is `None` on the last page.
pub struct Page {
    pub objects: Vec<Listed>,
    pub next: Option<String>,
}

#[allow(async_fn_in_trait)] // only used through generics, never `dyn`
pub trait Storage {
    async fn load_cursor(&self) -> Result<Option<String>, String>;
    async fn save_cursor(&self, cursor: &str) -> Result<(), String>;
    async fn clear_cursor(&self) -> Result<(), String>;
    async fn list(&self, cursor: Option<&str>, limit: u32) -> Result<Page, String>;
    /// Which of `keys` (at most `CHUNK`) some list item's `image_key` references.
    async fn referenced(&self, keys: &[String]) -> Result<BTreeSet<String>, String>;
    async fn delete(&self, keys: &[String]) -> Result<(), String>;
}

/// Walks at most `settings.max_pages` pages from the stored cursor (or the start), deleting the
/// unreferenced candidates. `now_ms` is the run's reference time for the age threshold.
pub async fn walk(storage: &impl Storage, settings: &Settings, now_ms: f64) -> Report {
    let mut report = Report::default();
    let mut cursor = storage.load_cursor().await.unwrap_or_else(|e| {
        report.error(e);
        None // start over: a repeated walk costs time, never an object
    });
    report.resumed_from_cursor = cursor.is_some();
    loop {
        let page = match storage.list(cursor.as_deref(), settings.page_size).await {
            Ok(page) => page,
            Err(e) => {
                report.error(e);
                // The next run starts over, so a cursor R2 no longer accepts cannot wedge the sweep.
                if report.resumed_from_cursor {
                    if let Err(e) = storage.clear_cursor().await {
                        report.error(e);
                    }
                }
                return report;
            }
        };
        report.pages += 1;
        sweep_page(storage, &page.objects, settings.min_age_s, now_ms, &mut report).await;
        let outcome = match page.next {
            None => {
                report.complete = true;
                storage.clear_cursor().await
            }
            Some(next) if report.pages >= settings.max_pages => storage.save_cursor(&next).await,
            next => {
                cursor = next;
                continue;
            }
        };
        if let Err(e) = outcome {
            report.error(e);
        }
        return report;
    }
}

async fn sweep_page(storage: &impl Storage, objects: &[Listed], min_age_s: u64, now_ms: f64, report: &mut Report) {
    let candidates: Vec<String> =
        objects.iter().filter(|o| is_candidate(o, now_ms, min_age_s)).map(|o| o.key.clone()).collect();
    report.seen += objects.len() as u64;
    report.kept += (objects.len() - candidates.len()) as u64;
    for chunk in candidates.chunks(CHUNK) {
        // The references are read after the listing and right before the delete: an upload
        // that committed its record since the listing keeps its object. What remains is the
        // one round trip between this read and the delete, which the age threshold covers (an
        // upload's record is written within minutes of its object, never an hour later).
        let orphans = match storage.referenced(chunk).await {
            Ok(referenced) => chunk.iter().filter(|key| !referenced.contains(*key)).cloned().collect::<Vec<_>>(),
            Err(e) => {
                report.error(e);
                report.kept += chunk.len() as u64;
                continue;
            }
        };
        report.kept += (chunk.len() - orphans.len()) as u64;
        if orphans.is_empty() {
            continue;
        }
        match storage.delete(&orphans).await {
            Ok(()) => report.deleted += orphans.len() as u64,
            Err(e) => {
                report.error(e);
                report.kept += orphans.len() as u64;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::collections::BTreeMap;
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    const NOW: f64 = 100.0 * 3_600_000.0;
    const OLD: f64 = NOW - 2.0 * 3_600_000.0;
    const YOUNG: f64 = NOW - 60_000.0;

    /// The fake's futures never wait, so one poll finishes them.
    fn run<F: Future>(future: F) -> F::Output {
        match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(output) => output,
            Poll::Pending => panic!("the fake storage never waits"),
        }
    }

    fn key(item: u32, n: u32) -> String {
        format!("list_items/{item}/{n:032x}.png")
    }

    /// A bucket (key → uploaded), the referenced keys, the KV cursor; cursors are the last key
    /// of the previous page. `fail` makes the named operation fail; `commit_on_lookup`
    /// references a key when it is looked up (an upload committing after the listing).
    #[derive(Default)]
    struct Fake {
        objects: RefCell<BTreeMap<String, f64>>,
        referenced: RefCell<BTreeSet<String>>,
        cursor: RefCell<Option<String>>,
        fail: RefCell<BTreeSet<&'static str>>,
        commit_on_lookup: RefCell<Option<String>>,
        lookups: RefCell<Vec<usize>>,
    }

    impl Fake {
        fn with(objects: &[(String, f64)], referenced: &[&String]) -> Fake {
            let fake = Fake::default();
            fake.objects.borrow_mut().extend(objects.iter().cloned());
            fake.referenced.borrow_mut().extend(referenced.iter().map(|k| k.to_string()));
            fake
        }

        fn check(&self, op: &'static str) -> Result<(), String> {
            if self.fail.borrow().contains(op) {
                Err(format!("{op} failed"))
            } else {
                Ok(())
            }
        }

        fn keys(&self) -> Vec<String> {
            self.objects.borrow().keys().cloned().collect()
        }
    }

    impl Storage for Fake {
        async fn load_cursor(&self) -> Result<Option<String>, String> {
            self.check("load_cursor")?;
            Ok(self.cursor.borrow().clone())
        }
        async fn save_cursor(&self, cursor: &str) -> Result<(), String> {
            self.check("save_cursor")?;
            *self.cursor.borrow_mut() = Some(cursor.to_string());
            Ok(())
        }
        async fn clear_cursor(&self) -> Result<(), String> {
            self.check("clear_cursor")?;
            *self.cursor.borrow_mut() = None;
            Ok(())
        }
        async fn list(&self, cursor: Option<&str>, limit: u32) -> Result<Page, String> {
            self.check("list")?;
            let objects = self.objects.borrow();
            let after = |k: &&String| cursor.is_none_or(|c| k.as_str() > c);
            let page: Vec<Listed> = objects
                .iter()
                .filter(|(k, _)| after(k))
                .take(limit as usize)
                .map(|(k, t)| Listed { key: k.clone(), uploaded_ms: *t })
                .collect();
            let more = objects.keys().filter(after).count() > page.len();
            let next = more.then(|| page.last().map(|o| o.key.clone())).flatten();
            Ok(Page { objects: page, next })
        }
        async fn referenced(&self, keys: &[String]) -> Result<BTreeSet<String>, String> {
            self.check("referenced")?;
            assert!(keys.len() <= CHUNK, "D1 binds at most {CHUNK} parameters");
            self.lookups.borrow_mut().push(keys.len());
            if let Some(committed) = self.commit_on_lookup.borrow_mut().take() {
                self.referenced.borrow_mut().insert(committed);
            }
            Ok(keys.iter().filter(|k| self.referenced.borrow().contains(*k)).cloned().collect())
        }
        async fn delete(&self, keys: &[String]) -> Result<(), String> {
            self.check("delete")?;
            for k in keys {
                assert!(!self.referenced.borrow().contains(k), "deleted a referenced object {k}");
                self.objects.borrow_mut().remove(k);
            }
            Ok(())
        }
    }

    fn settings(page_size: u32, max_pages: u32) -> Settings {
        Settings { min_age_s: 3600, page_size, max_pages }
    }

    #[test]
    fn deletes_old_orphans_only() {
        let (orphan, referenced, young) = (key(1, 1), key(2, 2), key(3, 3));
        let foreign = "list_items/notes.txt".to_string();
        let fake = Fake::with(&[(orphan.clone(), OLD), (referenced.clone(), OLD), (young.clone(), YOUNG), (foreign.clone(), OLD)], &[&referenced]);
        let report = run(walk(&fake, &settings(1000, 10), NOW));
        assert_eq!(fake.keys(), {
            let mut kept = vec![referenced, young, foreign];
            kept.sort();
            kept
        });
        assert_eq!((report.seen, report.deleted, report.kept, report.errors, report.pages), (4, 1, 3, 0, 1));
        assert!(report.complete && !report.resumed_from_cursor);
        assert_eq!(*fake.lookups.borrow(), vec![2], "only old keys of our shape are looked up");
    }

    #[test]
    fn an_upload_committing_after_the_listing_keeps_its_object() {
        let (late, orphan) = (key(1, 1), key(2, 2));
        let fake = Fake::with(&[(late.clone(), OLD), (orphan.clone(), OLD)], &[]);
        *fake.commit_on_lookup.borrow_mut() = Some(late.clone());
        let report = run(walk(&fake, &settings(1000, 10), NOW));
        assert_eq!(fake.keys(), vec![late]);
        assert_eq!((report.deleted, report.kept), (1, 1));
    }

    #[test]
    fn lookups_and_deletes_go_in_chunks_of_100() {
        let objects: Vec<(String, f64)> = (0..250).map(|n| (key(7, n), OLD)).collect();
        let keep = key(7, 120);
        let fake = Fake::with(&objects, &[&keep]);
        let report = run(walk(&fake, &settings(1000, 10), NOW));
        assert_eq!(*fake.lookups.borrow(), vec![100, 100, 50]);
        assert_eq!(fake.keys(), vec![keep]);
        assert_eq!((report.seen, report.deleted, report.kept), (250, 249, 1));
    }

    #[test]
    fn a_walk_over_budget_resumes_from_the_stored_cursor() {
        let objects: Vec<(String, f64)> = (0..5).map(|n| (key(1, n), OLD)).collect();
        let fake = Fake::with(&objects, &[]);
        let first = run(walk(&fake, &settings(2, 2), NOW));
        assert_eq!((first.pages, first.seen, first.complete, first.resumed_from_cursor), (2, 4, false, false));
        assert_eq!(*fake.cursor.borrow(), Some(key(1, 3)));
        let second = run(walk(&fake, &settings(2, 2), NOW));
        assert_eq!((second.pages, second.seen, second.deleted, second.complete, second.resumed_from_cursor), (1, 1, 1, true, true));
        assert_eq!(*fake.cursor.borrow(), None, "a finished walk forgets its cursor");
        assert!(fake.keys().is_empty());
        let third = run(walk(&fake, &settings(2, 2), NOW));
        assert_eq!((third.pages, third.seen, third.complete, third.resumed_from_cursor), (1, 0, true, false));
    }

    #[test]
    fn a_failed_listing_ends_the_run_and_the_next_one_starts_over() {
        let fake = Fake::with(&[(key(1, 1), OLD)], &[]);
        *fake.cursor.borrow_mut() = Some("list_items/0".into());
        fake.fail.borrow_mut().insert("list");
        let report = run(walk(&fake, &settings(10, 10), NOW));
        assert_eq!((report.errors, report.pages, report.complete), (1, 0, false));
        assert_eq!(report.first_error.as_deref(), Some("list failed"));
        assert_eq!(*fake.cursor.borrow(), None);
        assert_eq!(fake.keys().len(), 1);
    }

    #[test]
    fn failures_keep_objects_and_are_counted() {
        let objects = [(key(1, 1), OLD), (key(2, 2), OLD)];
        for op in ["referenced", "delete"] {
            let fake = Fake::with(&objects, &[]);
            fake.fail.borrow_mut().insert(op);
            let report = run(walk(&fake, &settings(10, 10), NOW));
            assert_eq!((report.seen, report.deleted, report.kept, report.errors), (2, 0, 2, 1), "{op}");
            assert!(report.complete, "{op}: the walk itself finished");
            assert_eq!(fake.keys().len(), 2, "{op}");
        }
        // An unreadable cursor: the walk starts over and still does its job.
        let fake = Fake::with(&objects, &[]);
        fake.fail.borrow_mut().insert("load_cursor");
        let report = run(walk(&fake, &settings(10, 10), NOW));
        assert_eq!((report.deleted, report.errors, report.complete), (2, 1, true));
        // A cursor that cannot be saved is an error; the run's deletions stand.
        let fake = Fake::with(&objects, &[]);
        fake.fail.borrow_mut().insert("save_cursor");
        let report = run(walk(&fake, &settings(1, 1), NOW));
        assert_eq!((report.deleted, report.errors, report.complete), (1, 1, false));
    }
}
