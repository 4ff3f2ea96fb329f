//! Scoring one stored transcript version of a call (the scoring worker's work).
//!
//! Idempotent per (call, transcript version, rubric version): a redelivered job finds the
//! analysis stored or the record completed and does nothing. A job for a transcript version
//! the call no longer has (it was re-uploaded) is dropped.

use crate::domain::audit::AuditEvent;
use crate::domain::org::SealedName;
use crate::usecases::audit_trail::record_once;
use crate::usecases::call_details::open_rep_speaker;
use crate::usecases::call_lifecycle::{CallLifecycle, Change, Mover};
use std::time::Duration;

use std::future::Future;

use tracing::{info, warn};

use crate::crypto::Envelope;
use crate::domain::analysis::Analysis;
use crate::domain::call::{Call, CallStatus, FailureReason};
use crate::domain::transcript::Transcript;
use crate::ids::{CallId, TenantId};
use crate::ports::{
    BlobStore, Clock, DocumentKind, IdGenerator, IdempotencyKey, PipelineStore, StoreError,
};
use crate::scoring::{RUBRIC_VERSION, ScoringRequest, deterministic_analysis};
use crate::usecases::documents::{DocumentError, DocumentVault, live_after_writes};
pub use crate::usecases::once::IDEMPOTENCY_TTL;
use crate::usecases::once::{Once, run_once};
use crate::usecases::playbooks::load_playbook;
use crate::usecases::progress::{forget_call_progress, load_live_progress, record_progress};
use crate::usecases::quota::{self, Meter, Quotas, Spend};
use crate::usecases::workspace::workspace_closed;

/// How long a claimed scoring job may be in progress before another delivery takes it over:
/// longer than the worker's 300 s timeout (an LLM chain may take 240 s), so a live job is
/// never run twice (`infra/check_template.py` keeps it above the function's timeout).
pub const IN_PROGRESS_TIMEOUT: Duration = Duration::from_secs(360);

/// Judges a call: the deterministic rubric, or an LLM chain starting from it.
pub trait Coach: Send + Sync {
    /// The analysis to store, given the deterministic one (metrics, goals, rubric scores).
    fn judge(
        &self,
        request: &ScoringRequest<'_>,
        baseline: Analysis,
    ) -> impl Future<Output = Result<Analysis, CoachUnavailable>> + Send;

    /// The LLM tokens judging `request` will spend (prompt and output cap), counted against
    /// the workspace's quota before any is spent; `None` for a coach that spends none.
    fn token_estimate(&self, _request: &ScoringRequest<'_>) -> Option<u64> {
        None
    }
}

/// Every provider of the chain failed; the reasons name providers and statuses only.
#[derive(Debug, thiserror::Error)]
#[error("no LLM provider produced a valid analysis: {0}")]
pub struct CoachUnavailable(pub String);

/// The default coach: the deterministic rubric as it is.
#[derive(Debug, Clone, Copy, Default)]
pub struct DeterministicCoach;

impl Coach for DeterministicCoach {
    async fn judge(
        &self,
        _request: &ScoringRequest<'_>,
        baseline: Analysis,
    ) -> Result<Analysis, CoachUnavailable> {
        Ok(baseline)
    }
}

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
    #[error(transparent)]
    Playbook(#[from] crate::usecases::playbooks::PlaybookError),
    /// Retried by the queue; on the last delivery the deterministic analysis is stored instead.
    #[error(transparent)]
    CoachUnavailable(#[from] CoachUnavailable),
}

impl ScoreError {
    /// As the failed call's reason: what failed, not the backend's message.
    pub fn as_failure(&self) -> FailureReason {
        FailureReason::from(match self {
            ScoreError::InProgress => "the call could not be scored: another delivery held it",
            ScoreError::MissingTranscript => {
                "the call could not be scored: its transcript is missing"
            }
            ScoreError::Store(_) => "the call could not be scored: a store failed",
            ScoreError::Document(_) => "the call could not be scored: a document could not be read",
            ScoreError::Progress(_) => {
                "the call could not be scored: the rep's progress could not be read"
            }
            ScoreError::Playbook(_) => {
                "the call could not be scored: the team's playbook could not be read"
            }
            ScoreError::CoachUnavailable(_) => {
                "the call could not be scored: the coach was unavailable"
            }
        })
    }
}

pub struct Scorer<'a, S, B, E, C, I, K> {
    pub store: &'a S,
    pub blobs: &'a B,
    pub envelope: &'a E,
    pub clock: &'a C,
    pub ids: &'a I,
    pub coach: &'a K,
    /// The deployment's quotas; a workspace may have its own.
    pub quotas: &'a Quotas,
}

impl<S: PipelineStore, B: BlobStore, E: Envelope, C: Clock, I: IdGenerator, K: Coach>
    Scorer<'_, S, B, E, C, I, K>
{
    /// Scores one transcript version. `last_attempt`: this is the queue's final delivery, so a
    /// coach that cannot answer gives way to the deterministic analysis, marked degraded.
    pub async fn score(
        &self,
        tenant: &TenantId,
        call_id: &CallId,
        version: u32,
        last_attempt: bool,
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
        if workspace_closed(self.store, tenant).await? {
            return Ok(ScoreOutcome::Skipped("the workspace is closed"));
        }
        // The rep speaker is part of what is scored: choosing another one re-scores the same
        // transcript version (a digest, so no name sits in a key).
        // Each re-score request is a job of its own (`r{n}`), so asking again after a change
        // back (speaker X, Y, X; a playbook changed back) scores again.
        let speaker = speaker_digest(call.rep_speaker.as_ref());
        let requests = call.rescore_requests;
        let key = format!("score#{call_id}#v{version}#r{requests}#{RUBRIC_VERSION}#{speaker}");
        let record = IdempotencyKey {
            tenant,
            call: Some(call_id),
            key: &key,
            payload_hash: &key,
        };
        let work = self.run(call, last_attempt);
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

    async fn run(&self, mut call: Call, last_attempt: bool) -> Result<ScoreOutcome, ScoreError> {
        let vault = DocumentVault {
            repository: self.store,
            blobs: self.blobs,
            envelope: self.envelope,
        };
        let version = call.transcript_version;
        let now = self.clock.now();
        CallLifecycle::new(self.store, Mover::Worker)
            .update(&mut call, |c| {
                // A held call's analysis stays as it is: a re-score queued before the hold (or
                // the sweep's retry) does not write over it.
                let rescoring_held = c.status == CallStatus::Scored && c.legal_hold;
                let waiting = matches!(c.status, CallStatus::Transcribed | CallStatus::Scored);
                if waiting && c.transcript_version == version && !rescoring_held {
                    c.transition(CallStatus::Scoring, now)
                        .map_err(|_| StoreError::StaleTransition { expected: c.status })?;
                    return Ok::<_, StoreError>(Change::Write(()));
                }
                Ok(Change::Keep(()))
            })
            .await?;
        if call.status != CallStatus::Scoring || call.transcript_version != version {
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
        let playbook = load_playbook(self.store, self.envelope, &call.tenant_id, &call.team_id)
            .await?
            .unwrap_or_default();
        let rep_speaker = open_rep_speaker(self.envelope, &call)
            .await
            .map_err(DocumentError::from)?;
        let request = ScoringRequest {
            tenant_id: &call.tenant_id,
            call_id: &call.call_id,
            transcript_version: call.transcript_version,
            transcript: &transcript,
            playbook: &playbook,
            call_type: call.call_type,
            rep_override: rep_speaker.as_deref(),
            rep_name: None,
        };
        let baseline: Analysis = deterministic_analysis(request, self.ids, self.clock.now());
        if let Some(tokens) = self.coach.token_estimate(&request)
            && !self.may_spend_tokens(&call.tenant_id, tokens).await?
        {
            info!(tenant = %call.tenant_id, call = %call.call_id, "the workspace's LLM token quota is spent; the deterministic coach scores this call");
            let mut rubric_only = baseline;
            rubric_only.provenance.degraded = true;
            return Box::pin(self.store_analysis(call, rubric_only)).await;
        }
        // Boxed: the chain's future is large, and a scoring future held on a small (debug, test)
        // stack must not overflow it.
        let analysis = match Box::pin(self.coach.judge(&request, baseline.clone())).await {
            Ok(analysis) => analysis,
            Err(unavailable) if last_attempt => {
                warn!(tenant = %call.tenant_id, call = %call.call_id, error = %unavailable, "every LLM provider failed on the last delivery; storing the deterministic analysis, marked degraded");
                let mut degraded = baseline;
                degraded.provenance.degraded = true;
                degraded
            }
            Err(unavailable) => return Err(unavailable.into()),
        };
        Box::pin(self.store_analysis(call, analysis)).await
    }

    /// Whether the workspace's LLM token quota takes `tokens` more this month (counted now).
    async fn may_spend_tokens(&self, tenant: &TenantId, tokens: u64) -> Result<bool, ScoreError> {
        let quotas = self
            .store
            .get_tenant(tenant)
            .await?
            .and_then(|t| t.quotas)
            .unwrap_or(*self.quotas);
        let spent = quota::spend(
            self.store,
            tenant,
            &quotas,
            Meter::LlmTokens,
            tokens,
            self.clock.now(),
        )
        .await?;
        Ok(spent == Spend::Granted)
    }

    /// Stores the analysis, the rep's progress, then marks the call scored (audited once).
    async fn store_analysis(
        &self,
        mut call: Call,
        analysis: Analysis,
    ) -> Result<ScoreOutcome, ScoreError> {
        let vault = DocumentVault {
            repository: self.store,
            blobs: self.blobs,
            envelope: self.envelope,
        };
        // A speaker chosen, a re-score asked for or a newer upload taken in while the coach
        // ran queued a job of its own: this analysis is for the old state, so it is neither
        // stored nor marked (the other job does both). A call deleted meanwhile gets nothing
        // written for it.
        let (version, speaker) = (call.transcript_version, call.rep_speaker.clone());
        let requests = call.rescore_requests;
        let still_this_job = |c: &Call| {
            c.status == CallStatus::Scoring
                && c.transcript_version == version
                && c.rep_speaker == speaker
                && c.rescore_requests == requests
        };
        let current = self.store.get_call(&call.tenant_id, &call.call_id).await?;
        match current {
            None => {
                return Ok(ScoreOutcome::Skipped(
                    "the call was deleted while it was scored",
                ));
            }
            Some(c) if c.status == CallStatus::Deleted => {
                return Ok(ScoreOutcome::Skipped(
                    "the call was deleted while it was scored",
                ));
            }
            Some(c) if !still_this_job(&c) => {
                return Ok(ScoreOutcome::Skipped(
                    "another rep speaker, a re-score or a newer upload came while it was scored",
                ));
            }
            Some(_) => {}
        }
        vault.put_analysis(&analysis).await?;
        // Entries of the rep's calls expired or purged since go first. (Boxed, as every
        // large step here: the scoring future must fit a small stack.)
        Box::pin(load_live_progress(
            self.store,
            self.envelope,
            &call.tenant_id,
            &call.rep_id,
        ))
        .await?;
        // Before the call is marked scored, so a failure here retries this whole step. A call
        // whose rep speaker is unsure measures someone who may not be the rep: it leaves the
        // rep's progress (an earlier, surer scoring of it too) until the speaker is set.
        if analysis.rep_is_unsure() {
            Box::pin(forget_call_progress(
                self.store,
                self.envelope,
                &call.tenant_id,
                &call.rep_id,
                &call.call_id,
            ))
            .await?;
        } else {
            record_progress(
                self.store,
                self.envelope,
                &call.rep_id,
                &call.team_id,
                &analysis,
            )
            .await?;
        }
        // The call as stored now decides: a hold set while the coach ran stays, and a call
        // deleted, given a newer transcript or another speaker meanwhile is not marked scored.
        let now = self.clock.now();
        let scored = CallLifecycle::new(self.store, Mover::Worker)
            .update(&mut call, |c| {
                if !still_this_job(c) {
                    return Ok::<_, StoreError>(Change::Keep(false));
                }
                c.transition(CallStatus::Scored, now)
                    .map_err(|_| StoreError::StaleTransition { expected: c.status })?;
                Ok(Change::Write(true))
            })
            .await;
        let scored = match scored {
            // Purged meanwhile: as not scored, and the checks below find it gone.
            Err(StoreError::NotFound) => false,
            other => other?,
        };
        if !scored {
            // Deleted while the analysis and the progress were written: take the call's
            // progress entry back, and leave the written documents to the reaper.
            let live = Box::pin(live_after_writes(
                self.store,
                &call.tenant_id,
                &call.call_id,
                now,
            ))
            .await?;
            if !live {
                Box::pin(forget_call_progress(
                    self.store,
                    self.envelope,
                    &call.tenant_id,
                    &call.rep_id,
                    &call.call_id,
                ))
                .await?;
                return Ok(ScoreOutcome::Skipped(
                    "the call was deleted while it was scored",
                ));
            }
            return Ok(ScoreOutcome::Skipped(
                "the call moved on while it was scored",
            ));
        }
        // The move itself is audited as `worker.call_scored` by the lifecycle; a degraded
        // analysis (the LLM chain fell back to the deterministic coach) says so in an event of
        // its own, after the move, so only the writer that made it is on the record.
        if analysis.provenance.degraded {
            let version = version.to_string();
            let event = AuditEvent::by_system(
                "worker",
                &call.tenant_id,
                "worker.call_scored_degraded",
                &format!("call/{}", call.call_id),
                &[
                    &version,
                    RUBRIC_VERSION,
                    &speaker_digest(speaker.as_ref()),
                    &requests.to_string(),
                ],
                now,
            );
            record_once(self.store, &event).await?;
        }
        info!(tenant = %call.tenant_id, call = %call.call_id, score = analysis.overall_score, "call scored");
        Ok(ScoreOutcome::Scored {
            overall_score: analysis.overall_score,
        })
    }
}

impl ScoreError {
    /// Whether no later delivery can do better: the transcript version the job names is gone
    /// or unreadable (missing, its object gone, undecodable, its key destroyed, its ciphertext
    /// refused), or a stored record is corrupt. Everything else (a backend that failed, a race
    /// lost however often, a data key being created by another writer, a configuration error
    /// an operator can fix before a redrive, a coach that did not answer) is worth a retry.
    pub fn is_permanent(&self) -> bool {
        use crate::crypto::CryptoError;
        use crate::usecases::progress::ProgressError;
        let unreadable = |e: &CryptoError| {
            matches!(
                e,
                CryptoError::KeyUnavailable | CryptoError::Malformed | CryptoError::Authentication
            )
        };
        match self {
            ScoreError::MissingTranscript => true,
            ScoreError::Document(DocumentError::Decode(_) | DocumentError::MissingBlob) => true,
            ScoreError::Document(DocumentError::Crypto(e)) => unreadable(e),
            ScoreError::Progress(ProgressError::Decode(_)) => true,
            ScoreError::Progress(ProgressError::Crypto(e)) => unreadable(e),
            ScoreError::Store(StoreError::Corrupt(_)) => true,
            _ => false,
        }
    }
}

impl<S: PipelineStore, B, E, C: Clock, I, K> Scorer<'_, S, B, E, C, I, K> {
    /// Fails the call of a job that hit a permanent error, with that error as its reason, so
    /// it is not retried until the queue gives up. Such an error is one of the transcript
    /// version itself, so every job on that version meets it: failing the call while another
    /// of them runs loses nothing. Nothing happens (false) when the call has moved on
    /// (deleted, re-transcribed, scored by another delivery) or is gone.
    pub async fn give_up(
        &self,
        tenant: &TenantId,
        call_id: &CallId,
        version: u32,
        error: &ScoreError,
    ) -> Result<bool, StoreError> {
        let Some(mut call) = self.store.get_call(tenant, call_id).await? else {
            return Ok(false);
        };
        let reason = error.as_failure();
        let now = self.clock.now();
        CallLifecycle::new(self.store, Mover::Worker)
            .update(&mut call, |c| {
                let stuck = matches!(c.status, CallStatus::Transcribed | CallStatus::Scoring);
                if !stuck || c.transcript_version != version {
                    return Ok(Change::Keep(false));
                }
                c.fail(&reason, now)
                    .map_err(|_| StoreError::StaleTransition { expected: c.status })?;
                Ok::<_, StoreError>(Change::Write(true))
            })
            .await
    }
}

/// A short digest of the chosen rep speaker as sealed (`-` when none was chosen): of its
/// ciphertext, not its name, so that no dictionary of names finds it in a key or an audit
/// event. Each choice seals anew, so choosing again is a job of its own, as it should be.
fn speaker_digest(speaker: Option<&SealedName>) -> String {
    match speaker {
        None => "-".into(),
        Some(sealed) => aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &sealed.0).as_ref()
            [..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::fakes::kit::rig::FakePorts;
    use crate::fakes::{FakeCipher, InMemoryBlobStore, InMemoryStore, ManualClock};
    use crate::parse::parse_vtt;
    use crate::ports::CallRepository;
    use crate::system::RandomIds;
    use crate::usecases::call_lifecycle::{CallLifecycle, Mover};

    /// A call whose rep the coach cannot tell is scored, but gives no advice or goals and
    /// stays out of the rep's progress until its rep speaker is set.
    #[tokio::test]
    async fn an_unsure_rep_keeps_the_call_out_of_progress_until_the_speaker_is_set() {
        let rig = Rig::new();
        let call = rig
            .call_saying("WEBVTT\n\n00:00.000 --> 00:03.000\n<v Ann>Hello.\n\n00:03.500 --> 00:06.000\n<v Bo>Hello there.\n")
            .await;
        let scorer = rig.scorer(&DeterministicCoach);
        let scored = scorer
            .score(&call.tenant_id, &call.call_id, 1, false)
            .await
            .unwrap();
        assert!(matches!(scored, ScoreOutcome::Scored { .. }), "{scored:?}");
        let analysis = rig.analysis(&call).await.unwrap();
        assert!(analysis.rep_is_unsure());
        assert!(analysis.micro_goals.is_empty());
        assert!(
            rig.progress(&call)
                .await
                .is_none_or(|p| p.entries.is_empty())
        );

        let mut chosen = rig.stored(&call).await;
        chosen.rep_speaker = Some(rig.sealed_speaker(&call, "Bo").await);
        rig.store.save_call(&mut chosen).await.unwrap();
        scorer
            .score(&call.tenant_id, &call.call_id, 1, false)
            .await
            .unwrap();
        assert!(!rig.analysis(&call).await.unwrap().rep_is_unsure());
        assert_eq!(rig.progress(&call).await.unwrap().entries.len(), 1);
    }

    /// A job that comes after its workspace's deletion writes nothing.
    #[tokio::test]
    async fn a_closed_workspaces_job_is_skipped_and_writes_nothing() {
        use crate::ports::TenantRepository;
        let rig = Rig::new();
        let call = rig.call().await;
        let mut workspace = crate::domain::org::Tenant::active(
            call.tenant_id.clone(),
            "Acme",
            datetime!(2026-11-01 0:00 UTC),
        );
        workspace.state = crate::domain::retention::AccountState::Deleted;
        rig.store.create_tenant(&workspace).await.unwrap();
        let outcome = rig
            .scorer(&DeterministicCoach)
            .score(&call.tenant_id, &call.call_id, 1, false)
            .await
            .unwrap();
        assert_eq!(outcome, ScoreOutcome::Skipped("the workspace is closed"));
        assert!(rig.analysis(&call).await.is_none());
        assert_eq!(rig.stored(&call).await.status, CallStatus::Transcribed);
    }

    #[tokio::test]
    async fn scores_once_and_ignores_redelivery_and_superseded_versions() {
        let rig = Rig::new();
        let call = rig.call().await;
        let playbook = crate::domain::playbook::Playbook {
            trackers: vec![crate::domain::playbook::Tracker {
                name: "budget talk".into(),
                phrases: vec!["budget".into()],
            }],
            ..Default::default()
        };
        crate::usecases::playbooks::save_playbook(
            &rig.store,
            &rig.envelope,
            &call.tenant_id,
            &call.team_id,
            &playbook,
        )
        .await
        .unwrap();
        let scorer = rig.scorer(&DeterministicCoach);

        assert!(matches!(
            scorer
                .score(&call.tenant_id, &call.call_id, 2, false)
                .await
                .unwrap(),
            ScoreOutcome::Skipped(_)
        ));
        let ScoreOutcome::Scored { .. } = scorer
            .score(&call.tenant_id, &call.call_id, 1, false)
            .await
            .unwrap()
        else {
            panic!("not scored")
        };
        let stored = rig.stored(&call).await;
        assert_eq!(stored.status, CallStatus::Scored);
        let analysis = rig.analysis(&call).await.unwrap();
        assert_eq!(analysis.provenance.rubric_version, RUBRIC_VERSION);
        assert_eq!(analysis.metrics.rep_questions, 1);
        assert_eq!(
            analysis.metrics.trackers[0].tracker, "budget talk",
            "scored against the team's playbook"
        );
        assert_eq!(analysis.metrics.trackers[0].count, 1);
        let progress = rig.progress(&call).await.unwrap();
        assert_eq!(
            progress.entries.len(),
            1,
            "the rep's progress records the call"
        );
        assert_eq!(progress.current_goals, analysis.micro_goals);
        // Redelivery of the same job: nothing is rescored, and the scoring is audited once.
        assert_eq!(
            scorer
                .score(&call.tenant_id, &call.call_id, 1, false)
                .await
                .unwrap(),
            ScoreOutcome::Skipped("already scored")
        );
        let scored_events = || {
            rig.store
                .audit_events()
                .iter()
                .filter(|e| e.action == "worker.call_scored" && e.actor_kind == "worker")
                .count()
        };
        assert_eq!(scored_events(), 1);

        // Choosing another rep speaker re-scores the same transcript version.
        let mut chosen = stored.clone();
        chosen.rep_speaker = Some(rig.sealed_speaker(&stored, "Sam").await);
        rig.store.save_call(&mut chosen).await.unwrap();
        assert!(matches!(
            scorer
                .score(&call.tenant_id, &call.call_id, 1, false)
                .await
                .unwrap(),
            ScoreOutcome::Scored { .. }
        ));
        let rescored = rig.analysis(&call).await.unwrap();
        assert_eq!(rescored.metrics.rep_questions, 0, "Sam asked nothing");
        assert_eq!(scored_events(), 2);
    }

    /// A coach whose every provider is down until `recovered` is set.
    #[derive(Default)]
    struct FlakyCoach {
        recovered: std::sync::atomic::AtomicBool,
    }

    impl Coach for FlakyCoach {
        async fn judge(
            &self,
            _request: &ScoringRequest<'_>,
            mut baseline: Analysis,
        ) -> Result<Analysis, CoachUnavailable> {
            if self.recovered.load(std::sync::atomic::Ordering::SeqCst) {
                baseline.provenance.provider = "llm".into();
                Ok(baseline)
            } else {
                Err(CoachUnavailable("every provider answered 503".into()))
            }
        }
    }

    #[tokio::test]
    async fn an_unavailable_coach_writes_nothing_until_it_recovers_or_the_last_delivery() {
        let rig = Rig::new();
        let coach = FlakyCoach::default();
        let scorer = rig.scorer(&coach);
        let stored_analysis = async |call: &Call| rig.analysis(call).await;

        // Down: the job fails (the queue retries it) and no partial analysis exists.
        let first = rig.call().await;
        for _ in 0..2 {
            let error = scorer
                .score(&first.tenant_id, &first.call_id, 1, false)
                .await
                .unwrap_err();
            assert!(matches!(error, ScoreError::CoachUnavailable(_)));
            assert!(stored_analysis(&first).await.is_none());
        }
        // Recovered: it completes once, with the coach's analysis.
        coach
            .recovered
            .store(true, std::sync::atomic::Ordering::SeqCst);
        assert!(matches!(
            scorer
                .score(&first.tenant_id, &first.call_id, 1, false)
                .await
                .unwrap(),
            ScoreOutcome::Scored { .. }
        ));
        assert_eq!(
            stored_analysis(&first).await.unwrap().provenance.provider,
            "llm"
        );

        // Down on the last delivery: the deterministic analysis is stored, marked degraded.
        coach
            .recovered
            .store(false, std::sync::atomic::Ordering::SeqCst);
        let second = rig.call().await;
        assert!(matches!(
            scorer
                .score(&second.tenant_id, &second.call_id, 1, true)
                .await
                .unwrap(),
            ScoreOutcome::Scored { .. }
        ));
        let degraded = stored_analysis(&second).await.unwrap();
        assert!(degraded.provenance.degraded);
        assert_eq!(degraded.provenance.provider, "deterministic");
        let call = rig.stored(&second).await;
        assert_eq!(call.status, CallStatus::Scored);
    }

    /// An LLM coach that spends a fixed number of tokens per call and counts its calls.
    #[derive(Default)]
    struct CountingLlm {
        judged: std::sync::atomic::AtomicUsize,
    }

    impl Coach for CountingLlm {
        async fn judge(
            &self,
            _request: &ScoringRequest<'_>,
            mut baseline: Analysis,
        ) -> Result<Analysis, CoachUnavailable> {
            self.judged
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            baseline.provenance.provider = "llm".into();
            Ok(baseline)
        }

        fn token_estimate(&self, _request: &ScoringRequest<'_>) -> Option<u64> {
            Some(1_000)
        }
    }

    /// A coach during whose run the owner sets a legal hold (and, when `speaker` is set, a
    /// manager picks another rep speaker): the writes a slow LLM lets in between the
    /// worker's read and its write.
    struct RacedLlm {
        store: InMemoryStore,
        speaker: Option<crate::domain::org::SealedName>,
    }

    impl Coach for RacedLlm {
        async fn judge(
            &self,
            request: &ScoringRequest<'_>,
            baseline: Analysis,
        ) -> Result<Analysis, CoachUnavailable> {
            let mut call = self
                .store
                .get_call(request.tenant_id, request.call_id)
                .await
                .unwrap()
                .unwrap();
            call.legal_hold = true;
            if let Some(speaker) = &self.speaker {
                call.rep_speaker = Some(speaker.clone());
            }
            self.store.save_call(&mut call).await.unwrap();
            Ok(baseline)
        }
    }

    /// A coach during whose run the call's owner deletes the call and the reaper purges it.
    struct DeletedMidRun {
        store: InMemoryStore,
    }

    impl Coach for DeletedMidRun {
        async fn judge(
            &self,
            request: &ScoringRequest<'_>,
            baseline: Analysis,
        ) -> Result<Analysis, CoachUnavailable> {
            crate::ports::RetentionStore::delete_call_items(
                &self.store,
                request.tenant_id,
                request.call_id,
            )
            .await
            .unwrap();
            Ok(baseline)
        }
    }

    crate::rig_over_fake_ports!(
        /// The worker's ports over fakes, and transcribed calls of Dana (rep) and Sam.
        struct Rig {
            quotas: Quotas,
        }
    );

    impl Rig {
        fn new() -> Self {
            Self {
                ports: FakePorts::at(datetime!(2026-11-01 9:00 UTC)),
                quotas: Quotas::default(),
            }
        }

        fn scorer<'a, K: Coach>(
            &'a self,
            coach: &'a K,
        ) -> Scorer<
            'a,
            InMemoryStore,
            InMemoryBlobStore,
            FakeCipher,
            std::sync::Arc<ManualClock>,
            RandomIds,
            K,
        > {
            Scorer {
                store: &self.store,
                blobs: &self.blobs,
                envelope: &self.envelope,
                clock: &self.clock,
                ids: &RandomIds,
                coach,
                quotas: &self.quotas,
            }
        }

        /// A transcribed call of a workspace `acme`.
        async fn call(&self) -> Call {
            self.call_saying("WEBVTT\n\n00:00.000 --> 00:03.000\n<v Dana>Hi, this is Dana from Acme. What is the budget?\n\n00:03.500 --> 00:06.000\n<v Sam>It is frozen.\n").await
        }

        /// A transcribed call with this WebVTT transcript.
        async fn call_saying(&self, vtt: &str) -> Call {
            let tenant = TenantId::parse("acme").unwrap();
            let mut call = self.ports.call(&tenant).await;
            CallLifecycle::new(&self.store, Mover::Pipeline)
                .move_to(&mut call, CallStatus::Uploaded, self.clock.now())
                .await
                .unwrap();
            let transcript = parse_vtt(vtt).unwrap();
            self.vault()
                .put_transcript(&tenant, &call.call_id, 1, &transcript)
                .await
                .unwrap();
            let mut call = self.stored(&call).await;
            call.transcript_version = 1;
            call.transition(CallStatus::Transcribed, self.clock.now())
                .unwrap();
            self.store.save_call(&mut call).await.unwrap();
            call
        }

        async fn analysis(&self, call: &Call) -> Option<Analysis> {
            self.vault()
                .get::<Analysis>(&call.tenant_id, &call.call_id, DocumentKind::Analysis, 1)
                .await
                .unwrap()
        }

        async fn progress(&self, call: &Call) -> Option<crate::domain::progress::RepProgress> {
            crate::usecases::progress::load_progress(
                &self.store,
                &self.envelope,
                &call.tenant_id,
                &call.rep_id,
            )
            .await
            .unwrap()
        }
    }

    #[tokio::test]
    async fn a_hold_set_while_the_coach_runs_survives_the_workers_write() {
        let rig = Rig::new();
        let coach = RacedLlm {
            store: rig.store.clone(),
            speaker: None,
        };
        let call = rig.call().await;
        let outcome = rig
            .scorer(&coach)
            .score(&call.tenant_id, &call.call_id, 1, false)
            .await
            .unwrap();
        assert!(
            matches!(outcome, ScoreOutcome::Scored { .. }),
            "{outcome:?}"
        );
        let stored = rig.stored(&call).await;
        assert_eq!(
            (stored.status, stored.legal_hold),
            (CallStatus::Scored, true)
        );
    }

    #[tokio::test]
    async fn a_speaker_chosen_while_the_coach_runs_is_scored_by_its_own_job_not_the_old_one() {
        let rig = Rig::new();
        let call = rig.call().await;
        let raced = RacedLlm {
            store: rig.store.clone(),
            speaker: Some(rig.sealed_speaker(&call, "Sam").await),
        };
        // The old job finds the speaker changed: it stores nothing and leaves the call to the
        // re-score the new speaker queued.
        let old = rig
            .scorer(&raced)
            .score(&call.tenant_id, &call.call_id, 1, false)
            .await
            .unwrap();
        assert!(matches!(old, ScoreOutcome::Skipped(_)), "{old:?}");
        assert_eq!(rig.analysis(&call).await, None);
        // The re-score (its key holds the new speaker) scores it for Sam.
        let new = rig
            .scorer(&DeterministicCoach)
            .score(&call.tenant_id, &call.call_id, 1, false)
            .await
            .unwrap();
        assert!(matches!(new, ScoreOutcome::Scored { .. }), "{new:?}");
        let stored = rig.stored(&call).await;
        let speaker = open_rep_speaker(&rig.envelope, &stored).await.unwrap();
        assert_eq!(
            (stored.status, speaker.as_deref()),
            (CallStatus::Scored, Some("Sam"))
        );
        // Sam is the transcript's second speaker.
        let analysis = rig.analysis(&call).await.unwrap();
        assert_eq!(analysis.metrics.rep_speaker, Some(1));
    }

    #[tokio::test]
    async fn each_rescore_request_scores_again_even_back_to_an_earlier_speaker() {
        let rig = Rig::new();
        let mut call = rig.call().await;
        let scorer_coach = DeterministicCoach;
        let score = || async {
            rig.scorer(&scorer_coach)
                .score(&call.tenant_id, &call.call_id, 1, false)
                .await
                .unwrap()
        };
        assert!(matches!(score().await, ScoreOutcome::Scored { .. }));
        let queue = crate::fakes::InMemoryQueue::default();
        // Sam, Dana, then Sam again: each a request of its own, each scored.
        for (speaker, index) in [("Sam", 1), ("Dana", 0), ("Sam", 1)] {
            let mut copy = rig.stored(&call).await;
            let sealed = rig.sealed_speaker(&call, speaker).await;
            let rescoring = crate::usecases::calls::request_rescore(
                &rig.store,
                &queue,
                &mut copy,
                rig.clock.now(),
                |c| {
                    c.rep_speaker = Some(sealed.clone());
                    Ok::<_, crate::usecases::calls::CallError>(())
                },
            )
            .await
            .unwrap();
            assert!(rescoring);
            call = copy;
            let outcome = rig
                .scorer(&scorer_coach)
                .score(&call.tenant_id, &call.call_id, 1, false)
                .await
                .unwrap();
            assert!(
                matches!(outcome, ScoreOutcome::Scored { .. }),
                "{speaker}: {outcome:?}"
            );
            let analysis = rig.analysis(&call).await.unwrap();
            assert_eq!(analysis.metrics.rep_speaker, Some(index), "{speaker}");
        }
        assert_eq!(queue.take().len(), 3, "one job per request");
        // A redelivery of the last job is still the one job.
        assert!(matches!(
            rig.scorer(&scorer_coach)
                .score(&call.tenant_id, &call.call_id, 1, false)
                .await
                .unwrap(),
            ScoreOutcome::Skipped("already scored")
        ));
    }

    #[tokio::test]
    async fn a_rescore_queued_before_a_hold_leaves_the_held_analysis_as_it_is() {
        let rig = Rig::new();
        let call = rig.call().await;
        let coach = DeterministicCoach;
        rig.scorer(&coach)
            .score(&call.tenant_id, &call.call_id, 1, false)
            .await
            .unwrap();
        let held_analysis = rig.analysis(&call).await.unwrap();
        // A re-score is asked for; then the owner holds the call before its job runs.
        let mut copy = rig.stored(&call).await;
        let sealed = rig.sealed_speaker(&call, "Sam").await;
        crate::usecases::calls::request_rescore(
            &rig.store,
            &crate::fakes::InMemoryQueue::default(),
            &mut copy,
            rig.clock.now(),
            |c| {
                c.rep_speaker = Some(sealed.clone());
                Ok::<_, crate::usecases::calls::CallError>(())
            },
        )
        .await
        .unwrap();
        let mut held = rig.stored(&call).await;
        held.legal_hold = true;
        rig.store.save_call(&mut held).await.unwrap();
        let outcome = rig
            .scorer(&coach)
            .score(&call.tenant_id, &call.call_id, 1, false)
            .await
            .unwrap();
        assert!(matches!(outcome, ScoreOutcome::Skipped(_)), "{outcome:?}");
        assert_eq!(rig.analysis(&call).await.unwrap(), held_analysis);
        assert_eq!(rig.stored(&call).await.status, CallStatus::Scored);
    }

    #[tokio::test]
    async fn a_call_deleted_and_purged_while_the_coach_runs_gets_nothing_written() {
        let rig = Rig::new();
        let call = rig.call().await;
        let coach = DeletedMidRun {
            store: rig.store.clone(),
        };
        let outcome = rig
            .scorer(&coach)
            .score(&call.tenant_id, &call.call_id, 1, false)
            .await
            .unwrap();
        assert_eq!(
            outcome,
            ScoreOutcome::Skipped("the call was deleted while it was scored")
        );
        assert_eq!(rig.analysis(&call).await, None, "no orphan analysis");
        let progress = rig.progress(&call).await;
        assert!(
            progress.is_none_or(|p| p.entries.is_empty()),
            "no progress entry for a call that is gone"
        );
    }

    #[tokio::test]
    async fn a_spent_llm_token_quota_scores_with_the_rubric_and_sends_nothing() {
        let rig = Rig {
            quotas: Quotas {
                llm_tokens_per_month: 1_500,
                ..Quotas::default()
            },
            ..Rig::new()
        };
        let coach = CountingLlm::default();
        let scorer = rig.scorer(&coach);
        let stored = async |call: &Call| rig.analysis(call).await.unwrap();
        let first = rig.call().await;
        scorer
            .score(&first.tenant_id, &first.call_id, 1, false)
            .await
            .unwrap();
        assert_eq!(stored(&first).await.provenance.provider, "llm");
        // The second call would pass the month's 1,500 tokens: the rubric scores it, marked
        // degraded, and the LLM is not asked.
        let second = rig.call().await;
        scorer
            .score(&second.tenant_id, &second.call_id, 1, false)
            .await
            .unwrap();
        let analysis = stored(&second).await;
        assert!(analysis.provenance.degraded);
        assert_ne!(analysis.provenance.provider, "llm");
        assert_eq!(coach.judged.load(std::sync::atomic::Ordering::SeqCst), 1);
        let scored = rig.stored(&second).await;
        assert_eq!(scored.status, CallStatus::Scored);
    }
}
