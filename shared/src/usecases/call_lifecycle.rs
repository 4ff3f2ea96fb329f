//! The one way a stored call is written, and so the one way its status changes.
//!
//! Every writer (the pipeline, the scoring worker, the waiting sweep, the reaper, deletion and
//! the API) holds a [`CallLifecycle`] naming who it is. A write that changes the status is
//! saved together with the move's audit event, in one transaction (`save_moved`): no move
//! without its event, and no event of a move that lost its race. The age marks that follow
//! from the status (the `waiting`, `calls` and `deleted` indexes) are written by the store
//! from the saved call itself, in the same put.

use time::OffsetDateTime;

use crate::domain::audit::AuditEvent;
use crate::domain::call::{Call, CallStatus};
use crate::ports::{CallRepository, StoreError};
use crate::usecases::calls::CallError;
pub use crate::usecases::workspace::Change;

/// Rounds of read, change, write before giving up while other writers keep winning.
const UPDATE_ATTEMPTS: usize = 8;

/// Who moves a call, as the audit trail names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mover {
    /// Ingestion and transcription (upload trigger, transcription callback, waiting sweep).
    Pipeline,
    /// The scoring worker.
    Worker,
    /// The retention reaper.
    Reaper,
    /// A user's, team's or workspace's deletion.
    Deletion,
    /// An API request (the request itself is audited under its user by the API).
    Api,
}

impl Mover {
    fn actor_kind(self) -> &'static str {
        match self {
            Mover::Pipeline => "pipeline",
            Mover::Worker => "worker",
            Mover::Reaper => "reaper",
            Mover::Deletion => "system",
            Mover::Api => "api",
        }
    }

    fn action_prefix(self) -> &'static str {
        match self {
            Mover::Pipeline => "pipeline",
            Mover::Worker => "worker",
            Mover::Reaper => "retention",
            Mover::Deletion => "deletion",
            Mover::Api => "api",
        }
    }

    /// The audit action of a move into `status`, e.g. `pipeline.call_transcribed`.
    pub fn move_action(self, status: CallStatus) -> String {
        format!("{}.call_{}", self.action_prefix(), status.as_str())
    }
}

/// A writer of calls: see the module documentation.
pub struct CallLifecycle<'a, S> {
    store: &'a S,
    mover: Mover,
}

impl<'a, S: CallRepository> CallLifecycle<'a, S> {
    pub fn new(store: &'a S, mover: Mover) -> Self {
        CallLifecycle { store, mover }
    }

    /// Applies `change` to `call` (the caller's copy, as fresh as it is) and writes the call
    /// back only if nobody wrote it since that copy was read (its version). Otherwise the call
    /// is read again and `change` decides again from what is stored now, so a legal hold, a
    /// rep speaker or a deletion set meanwhile is never undone by a writer holding an older
    /// copy. A change of status is saved with its audit event. On return `call`
    /// is the stored call. `NotFound` when the call is gone.
    pub async fn update<T, E>(
        &self,
        call: &mut Call,
        mut change: impl FnMut(&mut Call) -> Result<Change<T>, E>,
    ) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        for _ in 0..UPDATE_ATTEMPTS {
            let mut draft = call.clone();
            match change(&mut draft)? {
                Change::Keep(answer) => return Ok(answer),
                Change::Write(answer) => {
                    let saved = if draft.status != call.status {
                        let event = self.move_event(&draft);
                        self.store.save_moved(&mut draft, &event).await
                    } else {
                        self.store.save_call(&mut draft).await
                    };
                    match saved {
                        Ok(()) => {
                            *call = draft;
                            return Ok(answer);
                        }
                        Err(StoreError::StaleTransition { .. }) => {
                            *call = self
                                .store
                                .get_call(&call.tenant_id, &call.call_id)
                                .await?
                                .ok_or(StoreError::NotFound)?;
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
            }
        }
        Err(StoreError::StaleTransition {
            expected: call.status,
        }
        .into())
    }

    /// Moves the call to `next` through [`Self::update`]: refused (and nothing written) when
    /// the stored call can no longer make that move. Returns the status it left.
    pub async fn move_to(
        &self,
        call: &mut Call,
        next: CallStatus,
        at: OffsetDateTime,
    ) -> Result<CallStatus, CallError> {
        self.update(call, |c| {
            let from = c.transition(next, at)?;
            Ok::<_, CallError>(Change::Write(from))
        })
        .await
    }

    /// The move's event: ids only. Its id derives from the call and the version the move was
    /// made from, so it is unique per write (and a transaction retried after it succeeded
    /// finds the call changed, not a second event).
    fn move_event(&self, moved: &Call) -> AuditEvent {
        AuditEvent::by_system(
            self.mover.actor_kind(),
            &moved.tenant_id,
            &self.mover.move_action(moved.status),
            &format!("call/{}", moved.call_id),
            &[&moved.version.to_string()],
            moved.updated_at,
        )
    }
}
