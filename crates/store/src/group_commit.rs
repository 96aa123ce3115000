//! Group commit for received documents.
//!
//! Every document the order endpoint accepts must be durable before its
//! response leaves, and a durable commit waits for the disk. One commit per
//! document bounds the endpoint at one document per disk flush. Here the
//! documents that arrive while a transaction is being written wait
//! together and go into the next transaction, so one flush makes a whole
//! group durable. The backend keeps one document's failure from touching
//! the others.
//!
//! No task runs while nothing waits: a document that finds fewer writers
//! than the backend allows spawns one, and a writer stops when the queue
//! is empty. A writer is a spawned task rather than the first caller, so a
//! caller that goes away (a client that disconnects) cannot cancel the
//! others' writes. SQLite allows one writer. A server database allows more,
//! so a group is written while the one before it waits for its commit.
//!
//! A backend may leave writes out of a group ([`GroupResult::Alone`]). Each
//! is then stored by a task of its own, so one that waits long for a lock
//! does not hold up the writer.

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};

use pobridge_core::AccountId;
use tokio::sync::oneshot;

use crate::{NewDocument, NewJob, NewRevision, RecordedDocument, StoreError, StoreResult};

/// The maximum number of documents in one transaction. It bounds how long
/// the write lock is held and how many callers one failed commit fails.
pub const MAX_GROUP: usize = 64;

/// One `record_document` call, owned so it can wait in the queue.
#[derive(Debug, Clone)]
pub struct DocumentWrite {
    pub account: AccountId,
    pub document: NewDocument,
    pub revision: Option<NewRevision>,
    pub job: Option<NewJob>,
}

impl DocumentWrite {
    /// Copies the arguments of a `record_document` call.
    pub fn of(
        account: AccountId,
        document: &NewDocument,
        revision: Option<&NewRevision>,
        job: Option<&NewJob>,
    ) -> Self {
        Self {
            account,
            document: document.clone(),
            revision: revision.cloned(),
            job: job.cloned(),
        }
    }
}

/// The outcome of one write in a group transaction.
#[derive(Debug)]
pub enum GroupResult {
    /// The write is stored, or failed for a reason of its own.
    Done(StoreResult<RecordedDocument>),
    /// The group left the write out. It is stored on its own, outside the
    /// writer, so a write that waits for a lock keeps no other group
    /// waiting.
    Alone,
}

/// A backend's way to store a group of documents in one transaction.
pub trait WriteGroup: Clone + Send + Sync + 'static {
    /// Stores `writes` and returns one result per write, in the same order.
    /// A failed write must not keep the others from being stored. An outer
    /// error means that none of them is stored.
    fn write_group(
        &self,
        writes: &[DocumentWrite],
    ) -> impl Future<Output = StoreResult<Vec<GroupResult>>> + Send;

    /// Stores one write that [`Self::write_group`] left out, in its own
    /// transaction.
    fn write_alone(
        &self,
        write: DocumentWrite,
    ) -> impl Future<Output = StoreResult<RecordedDocument>> + Send;
}

type Reply = oneshot::Sender<StoreResult<RecordedDocument>>;

/// The queue of documents waiting for a transaction.
#[derive(Debug)]
pub struct GroupCommit {
    queue: Mutex<Queue>,
    /// How many groups may be written at once.
    max_writers: usize,
    /// How many documents must wait before a writer beyond the first
    /// starts. Such a writer stops once fewer wait, and a writer still running
    /// takes them.
    spare_backlog: usize,
}

#[derive(Debug, Default)]
struct Queue {
    waiting: Vec<(DocumentWrite, Reply)>,
    /// The writer tasks running. Each takes what waits before it stops.
    writers: usize,
}

impl Default for GroupCommit {
    /// Returns a queue with one writer, for a backend that writes one
    /// transaction at a time.
    fn default() -> Self {
        Self::with_writers(1)
    }
}

impl GroupCommit {
    /// Returns a queue whose groups are written by up to `max_writers`
    /// tasks at once.
    pub fn with_writers(max_writers: usize) -> Self {
        Self::with_spare_writers(max_writers, 1)
    }

    /// Returns a queue written by one task, and by up to `max_writers` once
    /// `spare_backlog` documents wait.
    ///
    /// Every group costs the backend some fixed work, so a second writer
    /// that starts as soon as a document arrives splits the documents into
    /// small groups. Started only for a backlog, it helps when a group is
    /// slow, such as one waiting for a lock, and leaves the usual groups
    /// to gather.
    pub fn with_spare_writers(max_writers: usize, spare_backlog: usize) -> Self {
        Self {
            queue: Mutex::default(),
            max_writers: max_writers.max(1),
            spare_backlog: spare_backlog.max(1),
        }
    }

    /// Queues `write` for the next group transaction and waits for its
    /// result.
    pub async fn record<W: WriteGroup>(
        self: &Arc<Self>,
        backend: &W,
        write: DocumentWrite,
    ) -> StoreResult<RecordedDocument> {
        let (reply, answer) = oneshot::channel();
        let start_writer = {
            let mut queue = self.lock();
            queue.waiting.push((write, reply));
            let start = queue.writers == 0
                || (queue.writers < self.max_writers && queue.waiting.len() >= self.spare_backlog);
            if start {
                queue.writers += 1;
            }
            start
        };
        if start_writer {
            tokio::spawn(write_groups(Arc::clone(self), backend.clone()));
        }
        answer.await.unwrap_or_else(|_| {
            Err(StoreError::GroupFailed {
                detail: "the task writing it stopped before the document was stored".to_owned(),
            })
        })
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        // The queue holds no invariant that a panic elsewhere could break
        // half way, so a poisoned lock is still usable.
        self.queue
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Takes up to [`MAX_GROUP`] waiting writes, or counts the calling
    /// writer stopped and returns none when nothing waits. A writer beyond
    /// the first also stops when fewer than the spare backlog wait, and a
    /// writer still running takes those.
    fn next_group(&self) -> Vec<(DocumentWrite, Reply)> {
        let mut queue = self.lock();
        let spare = queue.writers > 1 && queue.waiting.len() < self.spare_backlog;
        if queue.waiting.is_empty() || spare {
            queue.writers -= 1;
            return Vec::new();
        }
        let take = queue.waiting.len().min(MAX_GROUP);
        queue.waiting.drain(..take).collect()
    }
}

/// Stores groups of waiting documents until none is left.
async fn write_groups<W: WriteGroup>(group: Arc<GroupCommit>, backend: W) {
    // If the runtime drops this task half way, the next caller must find no
    // writer and start one. The dropped group's callers get an error when
    // their reply senders drop with it.
    let mut stopped = StoppedGuard {
        group: &group,
        armed: true,
    };
    loop {
        let batch = stopped.group.next_group();
        if batch.is_empty() {
            stopped.armed = false;
            return;
        }
        let (writes, replies): (Vec<_>, Vec<_>) = batch.into_iter().unzip();
        match backend.write_group(&writes).await {
            Ok(results) => {
                let outcomes = writes.into_iter().zip(replies).zip(results);
                for ((write, reply), result) in outcomes {
                    match result {
                        GroupResult::Done(result) => {
                            let _ = reply.send(result);
                        }
                        GroupResult::Alone => {
                            let backend = backend.clone();
                            tokio::spawn(async move {
                                let _ = reply.send(backend.write_alone(write).await);
                            });
                        }
                    }
                }
            }
            Err(error) => {
                let detail = error_chain(&error);
                tracing::error!(documents = writes.len(), error = %detail, "storing a group of received documents failed");
                for reply in replies {
                    let _ = reply.send(Err(StoreError::GroupFailed {
                        detail: detail.clone(),
                    }));
                }
            }
        }
    }
}

struct StoppedGuard<'a> {
    group: &'a GroupCommit,
    armed: bool,
}

impl Drop for StoppedGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            let mut queue = self.group.lock();
            queue.writers -= 1;
            // With no writer left, the waiting callers' senders drop here,
            // so they get an error rather than wait for a writer that is
            // gone.
            if queue.writers == 0 {
                queue.waiting.clear();
            }
        }
    }
}

fn error_chain(error: &StoreError) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use chrono::{TimeZone, Utc};
    use pobridge_core::DocumentId;

    use super::*;
    use crate::DocumentOutcome;

    /// A backend that records the size of each group and fails the writes
    /// and groups it is configured to fail.
    #[derive(Clone, Default)]
    struct Recorder {
        groups: Arc<Mutex<Vec<usize>>>,
        /// The payload ids stored alone, in the order they started.
        alone: Arc<Mutex<Vec<String>>>,
        /// Groups being written now, and the maximum at any one time.
        in_flight: Arc<AtomicUsize>,
        max_in_flight: Arc<AtomicUsize>,
        next_id: Arc<AtomicUsize>,
        fail_payload: Option<&'static str>,
        fail_groups: bool,
    }

    impl WriteGroup for Recorder {
        async fn write_group(&self, writes: &[DocumentWrite]) -> StoreResult<Vec<GroupResult>> {
            let in_flight = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.max_in_flight.fetch_max(in_flight, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(20)).await;
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            self.groups.lock().unwrap().push(writes.len());
            if self.fail_groups {
                return Err(StoreError::Corrupt {
                    entity: "test",
                    detail: "the disk is full".to_owned(),
                });
            }
            Ok(writes
                .iter()
                .map(|write| {
                    let payload_id = write.document.payload_id.as_str();
                    if payload_id.starts_with("alone") {
                        return GroupResult::Alone;
                    }
                    if Some(payload_id) == self.fail_payload {
                        return GroupResult::Done(Err(StoreError::NotFound {
                            entity: "buyer",
                            key: "7".to_owned(),
                        }));
                    }
                    GroupResult::Done(Ok(self.recorded()))
                })
                .collect())
        }

        async fn write_alone(&self, write: DocumentWrite) -> StoreResult<RecordedDocument> {
            self.alone
                .lock()
                .unwrap()
                .push(write.document.payload_id.clone());
            if write.document.payload_id == "alone-slow" {
                tokio::time::sleep(Duration::from_secs(3600)).await;
            }
            Ok(self.recorded())
        }
    }

    impl Recorder {
        fn recorded(&self) -> RecordedDocument {
            let id = self.next_id.fetch_add(1, Ordering::SeqCst) as i64;
            RecordedDocument {
                document: DocumentId(id),
                po: None,
                revision: None,
                is_latest: false,
                duplicate_of: None,
            }
        }
    }

    fn write(payload_id: &str) -> DocumentWrite {
        DocumentWrite {
            account: AccountId(1),
            document: NewDocument {
                buyer: None,
                payload_id: payload_id.to_owned(),
                body_sha256: String::new(),
                masked_body: Vec::new(),
                content_type: "text/xml".to_owned(),
                request_kind: "OrderRequest".to_owned(),
                deployment_test: false,
                outcome: DocumentOutcome::Other,
                duplicate_of: None,
                received_at: Utc.with_ymd_and_hms(2026, 12, 5, 3, 0, 0).unwrap(),
                attachments: Vec::new(),
            },
            revision: None,
            job: None,
        }
    }

    async fn record_all(
        backend: &Recorder,
        payload_ids: &[&'static str],
    ) -> Vec<StoreResult<RecordedDocument>> {
        record_all_with(GroupCommit::default(), backend, payload_ids).await
    }

    async fn record_all_with(
        group: GroupCommit,
        backend: &Recorder,
        payload_ids: &[&'static str],
    ) -> Vec<StoreResult<RecordedDocument>> {
        let group = Arc::new(group);
        let calls = payload_ids.iter().copied().map(|payload_id| {
            let group = Arc::clone(&group);
            let backend = backend.clone();
            tokio::spawn(async move { group.record(&backend, write(payload_id)).await })
        });
        let mut results = Vec::new();
        for call in calls.collect::<Vec<_>>() {
            results.push(call.await.unwrap());
        }
        assert_eq!(
            group.lock().writers,
            0,
            "the writers stop when the queue is empty"
        );
        results
    }

    #[tokio::test]
    async fn group_shares_one_transaction() {
        let backend = Recorder::default();
        let payload_ids: Vec<&'static str> = (0..100)
            .map(|index| &*format!("doc-{index}").leak())
            .collect();
        let results = record_all(&backend, &payload_ids).await;

        assert!(results.iter().all(Result::is_ok));
        let groups = backend.groups.lock().unwrap().clone();
        assert_eq!(groups.iter().sum::<usize>(), 100);
        assert!(
            groups.len() < 100 && groups.iter().all(|size| *size <= MAX_GROUP),
            "writes were grouped, at most {MAX_GROUP} at a time: {groups:?}"
        );
    }

    #[tokio::test]
    async fn writers_stay_within_limit() {
        let payload_ids: Vec<&'static str> = (0..100)
            .map(|index| &*format!("doc-{index}").leak())
            .collect();
        for writers in [1, 3] {
            let backend = Recorder::default();
            let results =
                record_all_with(GroupCommit::with_writers(writers), &backend, &payload_ids).await;

            assert!(results.iter().all(Result::is_ok));
            assert_eq!(backend.groups.lock().unwrap().iter().sum::<usize>(), 100);
            let max_seen = backend.max_in_flight.load(Ordering::SeqCst);
            assert!(
                max_seen <= writers,
                "{max_seen} groups at once, {writers} allowed"
            );
            assert!(writers == 1 || max_seen > 1, "groups were written at once");
        }
    }

    #[tokio::test]
    async fn spare_writer_waits_for_backlog() {
        let backend = Recorder::default();
        let group = Arc::new(GroupCommit::with_spare_writers(2, 4));
        let record = |payload_id: &'static str| {
            let group = Arc::clone(&group);
            let backend = backend.clone();
            tokio::spawn(async move { group.record(&backend, write(payload_id)).await })
        };

        // Three documents arrive while the first group is written: too few
        // for a second writer, so they go together into the next group.
        let first = record("first");
        tokio::time::sleep(Duration::from_millis(5)).await;
        let later: Vec<_> = ["a", "b", "c"].into_iter().map(record).collect();
        assert!(first.await.unwrap().is_ok());
        for call in later {
            assert!(call.await.unwrap().is_ok());
        }

        assert_eq!(backend.max_in_flight.load(Ordering::SeqCst), 1);
        assert_eq!(*backend.groups.lock().unwrap(), vec![1, 3]);
        assert_eq!(group.lock().writers, 0);
    }

    #[tokio::test]
    async fn spare_writer_starts_for_backlog() {
        let payload_ids: Vec<&'static str> = (0..100)
            .map(|index| &*format!("doc-{index}").leak())
            .collect();
        let backend = Recorder::default();
        let results = record_all_with(
            GroupCommit::with_spare_writers(2, 4),
            &backend,
            &payload_ids,
        )
        .await;

        assert!(results.iter().all(Result::is_ok));
        assert_eq!(backend.groups.lock().unwrap().iter().sum::<usize>(), 100);
        assert_eq!(backend.max_in_flight.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn group_keeps_writes_beside_failed_one() {
        let backend = Recorder {
            fail_payload: Some("bad"),
            ..Recorder::default()
        };
        let results = record_all(&backend, &["one", "bad", "two"]).await;

        assert!(results[0].is_ok());
        assert!(matches!(results[1], Err(StoreError::NotFound { .. })));
        assert!(results[2].is_ok());
    }

    #[tokio::test]
    async fn group_failure_fails_each_write_with_cause() {
        let backend = Recorder {
            fail_groups: true,
            ..Recorder::default()
        };
        let results = record_all(&backend, &["one", "two"]).await;

        for result in results {
            match result {
                Err(StoreError::GroupFailed { detail }) => {
                    assert!(detail.contains("the disk is full"), "{detail}");
                }
                other => panic!("expected a group failure, got {other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn writer_restarts_for_later_document() {
        let backend = Recorder::default();
        let group = Arc::new(GroupCommit::default());
        for payload_id in ["first", "second"] {
            let recorded = group.record(&backend, write(payload_id)).await;
            assert!(recorded.is_ok());
            assert_eq!(group.lock().writers, 0);
        }
        assert_eq!(*backend.groups.lock().unwrap(), vec![1, 1]);
    }

    #[tokio::test]
    async fn writes_left_out_are_stored_alone() {
        let backend = Recorder::default();
        let results = record_all(&backend, &["one", "alone-first", "two"]).await;

        assert!(results.iter().all(Result::is_ok), "{results:?}");
        assert_eq!(*backend.alone.lock().unwrap(), vec!["alone-first"]);
    }

    #[tokio::test]
    async fn write_stored_alone_keeps_no_group_waiting() {
        let backend = Recorder::default();
        let group = Arc::new(GroupCommit::default());
        let slow = {
            let group = Arc::clone(&group);
            let backend = backend.clone();
            tokio::spawn(async move { group.record(&backend, write("alone-slow")).await })
        };
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(*backend.alone.lock().unwrap(), vec!["alone-slow"]);

        let later = tokio::time::timeout(
            Duration::from_secs(10),
            group.record(&backend, write("later")),
        )
        .await;
        assert!(
            matches!(later, Ok(Ok(_))),
            "a later write is stored while the slow one waits: {later:?}"
        );
        assert!(!slow.is_finished());
        slow.abort();
    }
}
