//! Group commit for comments. Every acknowledged comment must be on disk, and a disk sync costs
//! milliseconds, so one sync per comment caps a site at a few hundred comments a second. Instead,
//! requests hand their comment to one writer task, which takes everything waiting, writes it in
//! one transaction (one sync), and then answers each request. Under load, batches grow by
//! themselves; when quiet, a lone comment is written at once.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;

use crate::domain::Comment;
use crate::store::{NewComment, Store, StoreError, StoreResult};

type Job = (NewComment, oneshot::Sender<StoreResult<Comment>>);

#[derive(Clone)]
pub struct CommentWriter {
    queue: mpsc::Sender<Job>,
}

impl CommentWriter {
    /// Starts the writer task. `max_batch` bounds one transaction.
    pub fn spawn(store: Arc<dyn Store>, max_batch: usize) -> Self {
        let (queue, mut jobs) = mpsc::channel::<Job>(max_batch * 4);
        tokio::spawn(
            async move {
                let mut batch: Vec<Job> = Vec::with_capacity(max_batch);
                while jobs.recv_many(&mut batch, max_batch).await > 0 {
                    let comments: Vec<NewComment> = batch.iter().map(|(c, _)| c.clone()).collect();
                    match store.insert_comments(&comments).await {
                        Ok(results) => {
                            for ((_, reply), result) in batch.drain(..).zip(results) {
                                // The request may have gone away; its comment is stored all the same.
                                let _ = reply.send(result);
                            }
                        }
                        Err(e) => {
                            tracing::error!(error = %e, comments = batch.len(), "writing a batch of comments failed");
                            // Each waiting request learns what kind of failure it was (storage full,
                            // database away, or another), so it can answer 503 rather than 500.
                            for (_, reply) in batch.drain(..) {
                                let _ = reply.send(Err(e.replicate()));
                            }
                        }
                    }
                }
            }
            .instrument(tracing::info_span!("background", job = %"comment_writer")),
        );
        Self { queue }
    }

    /// Stores a comment durably; returns once it is committed.
    pub async fn submit(&self, comment: NewComment) -> StoreResult<Comment> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send((comment, reply))
            .await
            .map_err(|_| StoreError::WriteFailed("the comment writer has stopped".into()))?;
        answer.await.map_err(|_| StoreError::WriteFailed("the comment writer has stopped".into()))?
    }
}
