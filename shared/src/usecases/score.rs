//! Scoring one stored transcript version of a call (the scoring worker's work).
//!
//! Idempotent per (call, transcript version, rubric version): a redelivered job finds the
//! analysis stored or the record completed and does nothing. A job for a transcript version
//! the call no longer has (it was re-uploaded) is dropped.

use std::time::Duration;

use tracing::info;

use crate::crypto::Envelope;
use crate::domain::analysis::Analysis;
use crate::domain::call::{Call, CallStatus};
use crate::domain::transcript::Transcript;
use crate::ids::{CallId, TenantId};
use crate::ports::{
    BlobStore, Clock, DocumentKind, IdGenerator, IdempotencyKey, PipelineStore, StoreError,
};
use crate::scoring::{RUBRIC_VERSION, ScoringRequest, deterministic_analysis};
use crate::usecases::documents::{DocumentError, DocumentVault};
use crate::usecases::once::{Once, run_once};
use crate::usecases::progress::record_progress;

pub const IN_PROGRESS_TIMEOUT: Duration = Duration::from_secs(120);
pub const IDEMPOTENCY_TTL: Duration = Duration::from_secs(24 * 3600);

#[derive(Debug, Clone, PartialEq)]
pub enum ScoreOutcome {
    Scored { overall_score: u8 },
    Skipped(&'static str),
}

#[derive(Debug, thiserror::Error)]
pub enum ScoreError {
    #[error("another delivery of this job is in progress")]
    InProgress,
    #[error("the transcript version named by the job is missing")]
    MissingTranscript,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Document(#[from] DocumentError),
    #[error(transparent)]
    Progress(#[from] crate::usecases::progress::ProgressError),
}

pub struct Scorer<'a, S, B, E, C, I> {
    pub store: &'a S,
    pub blobs: &'a B,
    pub envelope: &'a E,
    pub clock: &'a C,
    pub ids: &'a I,
}

impl<S, B, E, C, I> Scorer<'_, S, B, E, C, I>
where
    S: PipelineStore,
    B: BlobStore,
    E: Envelope,
    C: Clock,
    I: IdGenerator,
{
    pub async fn score(
        &self,
        tenant: &TenantId,
        call_id: &CallId,
        version: u32,
    ) -> Result<ScoreOutcome, ScoreError> {
        let Some(call) = self.store.get_call(tenant, call_id).await? else {
            return Ok(ScoreOutcome::Skipped("the call no longer exists"));
        };
        if call.transcript_version != version {
            return Ok(ScoreOutcome::Skipped(
                "a newer transcript replaced this one",
            ));
        }
        if call.status == CallStatus::Deleted || call.status == CallStatus::Failed {
            return Ok(ScoreOutcome::Skipped("the call is not scorable"));
        }
        let key = format!("score#{call_id}#v{version}#{RUBRIC_VERSION}");
        let record = IdempotencyKey {
            tenant,
            key: &key,
            payload_hash: &key,
        };
        let work = self.run(call);
        match run_once(
            self.store,
            &record,
            self.clock.now(),
            IN_PROGRESS_TIMEOUT,
            IDEMPOTENCY_TTL,
            work,
        )
        .await?
        {
            Once::Ran(outcome) => Ok(outcome),
            Once::Skipped(_) => Ok(ScoreOutcome::Skipped("already scored")),
            Once::InProgress => Err(ScoreError::InProgress),
        }
    }

    async fn run(&self, mut call: Call) -> Result<ScoreOutcome, ScoreError> {
        let vault = DocumentVault {
            repository: self.store,
            blobs: self.blobs,
            envelope: self.envelope,
        };
        if call.status == CallStatus::Transcribed || call.status == CallStatus::Scored {
            let from = call.status;
            if call
                .transition(CallStatus::Scoring, self.clock.now())
                .is_ok()
            {
                self.store.save_transition(&call, from).await?;
            }
        }
        if call.status != CallStatus::Scoring {
            return Ok(ScoreOutcome::Skipped("the call is not waiting for scoring"));
        }
        let transcript: Transcript = vault
            .get(
                &call.tenant_id,
                &call.call_id,
                DocumentKind::Transcript,
                call.transcript_version,
            )
            .await?
            .ok_or(ScoreError::MissingTranscript)?;
        let playbook = self
            .store
            .get_playbook(&call.tenant_id, &call.team_id)
            .await?
            .unwrap_or_default();
        let analysis: Analysis = deterministic_analysis(
            ScoringRequest {
                tenant_id: &call.tenant_id,
                call_id: &call.call_id,
                transcript_version: call.transcript_version,
                transcript: &transcript,
                playbook: &playbook,
                call_type: call.call_type,
                rep_override: call.rep_speaker.as_deref(),
                rep_name: None,
            },
            self.ids,
            self.clock.now(),
        );
        vault.put_analysis(&analysis).await?;
        // Before the call is marked scored, so a failure here retries this whole step.
        record_progress(self.store, self.envelope, &call.rep_id, &analysis).await?;
        call.transition(CallStatus::Scored, self.clock.now())
            .map_err(|_| StoreError::StaleTransition {
                expected: CallStatus::Scoring,
            })?;
        self.store
            .save_transition(&call, CallStatus::Scoring)
            .await?;
        info!(tenant = %call.tenant_id, call = %call.call_id, score = analysis.overall_score, "call scored");
        Ok(ScoreOutcome::Scored {
            overall_score: analysis.overall_score,
        })
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::crypto::EnvelopeCipher;

    use crate::fakes::{
        FakeKeyManagement, InMemoryBlobStore, InMemoryStore, ManualClock, fake_cipher,
    };

    use crate::parse::parse_vtt;
    use crate::ports::CallRepository;
    use crate::system::RandomIds;
    use crate::usecases::calls::{create_call, transition};

    type Cipher = EnvelopeCipher<FakeKeyManagement, InMemoryStore, ManualClock>;

    async fn transcribed_call(
        store: &InMemoryStore,
        cipher: &Cipher,
        blobs: &InMemoryBlobStore,
        clock: &ManualClock,
    ) -> Call {
        let tenant = TenantId::parse("acme").unwrap();
        let new = crate::fakes::sample_new_call();
        let call = create_call(store, clock, &RandomIds, &tenant, new)
            .await
            .unwrap();
        transition(store, clock, &tenant, &call.call_id, CallStatus::Uploaded)
            .await
            .unwrap();
        let transcript = parse_vtt("WEBVTT\n\n00:00.000 --> 00:03.000\n<v Dana>What is the budget?\n\n00:03.500 --> 00:06.000\n<v Sam>It is frozen.\n").unwrap();
        DocumentVault {
            repository: store,
            blobs,
            envelope: cipher,
        }
        .put_transcript(&tenant, &call.call_id, 1, &transcript)
        .await
        .unwrap();
        let mut call = store
            .get_call(&tenant, &call.call_id)
            .await
            .unwrap()
            .unwrap();
        call.transcript_version = 1;
        let from = call
            .transition(CallStatus::Transcribed, clock.now())
            .unwrap();
        store.save_transition(&call, from).await.unwrap();
        call
    }

    #[tokio::test]
    async fn scores_once_and_ignores_redelivery_and_superseded_versions() {
        let (store, blobs, clock) = (
            InMemoryStore::default(),
            InMemoryBlobStore::default(),
            ManualClock::at(datetime!(2026-11-01 9:00 UTC)),
        );
        let cipher = fake_cipher(ManualClock::at(datetime!(2026-11-01 9:00 UTC)));
        let call = transcribed_call(&store, &cipher, &blobs, &clock).await;
        let playbook = crate::domain::playbook::Playbook {
            trackers: vec![crate::domain::playbook::Tracker {
                name: "budget talk".into(),
                phrases: vec!["budget".into()],
            }],
            ..Default::default()
        };
        crate::ports::PlaybookRepository::put_playbook(
            &store,
            &call.tenant_id,
            &call.team_id,
            &playbook,
        )
        .await
        .unwrap();
        let scorer = Scorer {
            store: &store,
            blobs: &blobs,
            envelope: &cipher,
            clock: &clock,
            ids: &RandomIds,
        };

        assert!(matches!(
            scorer
                .score(&call.tenant_id, &call.call_id, 2)
                .await
                .unwrap(),
            ScoreOutcome::Skipped(_)
        ));
        let ScoreOutcome::Scored { .. } = scorer
            .score(&call.tenant_id, &call.call_id, 1)
            .await
            .unwrap()
        else {
            panic!("not scored")
        };
        let stored = store
            .get_call(&call.tenant_id, &call.call_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.status, CallStatus::Scored);
        let vault = DocumentVault {
            repository: &store,
            blobs: &blobs,
            envelope: &cipher,
        };
        let analysis: Analysis = vault
            .get(&call.tenant_id, &call.call_id, DocumentKind::Analysis, 1)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(analysis.provenance.rubric_version, RUBRIC_VERSION);
        assert_eq!(analysis.metrics.rep_questions, 1);
        assert_eq!(
            analysis.metrics.trackers[0].tracker, "budget talk",
            "scored against the team's playbook"
        );
        assert_eq!(analysis.metrics.trackers[0].count, 1);
        let progress = crate::usecases::progress::load_progress(
            &store,
            &cipher,
            &call.tenant_id,
            &call.rep_id,
        )
        .await
        .unwrap()
        .unwrap();
        assert_eq!(
            progress.entries.len(),
            1,
            "the rep's progress records the call"
        );
        assert_eq!(progress.current_goals, analysis.micro_goals);
        // Redelivery of the same job: nothing is rescored.
        assert_eq!(
            scorer
                .score(&call.tenant_id, &call.call_id, 1)
                .await
                .unwrap(),
            ScoreOutcome::Skipped("already scored")
        );
    }
}
