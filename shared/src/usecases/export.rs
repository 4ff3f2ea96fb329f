//! Export (privacy promise P5): one JSON bundle of what the requester may take with them,
//! written to `exports/{tenant}/users/{user}/{export}.json` (a user's own) or
//! `exports/{tenant}/workspace/{export}.json`, sealed under a key of its own
//! ([`crate::crypto::bundle`]), and handed out through a short-lived link with that key. A
//! deletion withdraws the bundles that may hold what it deleted ([`withdraw_bundles`]).
//!
//! Bundle schema `callcoach.export.v1` (JSON Schema: `shared/schemas/export.v1.schema.json`):
//! ```text
//! { "schema", "tenant_id", "scope": "user" | "workspace", "requested_by", "created_at",
//!   "calls": [ { "call": {...metadata}, "transcript": {...} | null, "analysis": {...} | null,
//!                "practice_responses": [...] } ],
//!   "progress": [ { "rep_id", "progress": {...} } ],      // goals and their results live here
//!   "playbooks": [ { "team_id", "playbook": {...} } ],   // workspace scope only
//!   "retention": {...} | null,                           // workspace scope only
//!   "audit_events": [ ... ],                             // user: the requester's own
//!   "usage_events": [ ... ],                             // the requester's own views
//!   "counts": { "calls", "transcripts", "analyses", "highlights", "practice_responses", "goals",
//!               "audit_events", "usage_events" } }
//! ```
//! Scope `user`: the requester's own calls (as the rep) in every team they belong to, their
//! progress and their own audit events. Scope `workspace` (owners): every call, progress of
//! every rep, playbook and audit event of the teams the requester owns, and the workspace's
//! retention settings.
//!
//! The bundle streams: each call is read, serialized and dropped before the next, and the
//! serialized bytes go to S3 in parts of [`EXPORT_PART_SIZE`] (a multipart upload), so the
//! memory an export takes is about one part plus one call, whatever the bundle's size. A
//! bundle that fails midway is aborted: nothing is readable under its key, and the parts
//! already sent are discarded (or, if the function died, removed by the bucket's lifecycle
//! rule for incomplete uploads after a day). The bundle expires with the bucket's `exports/`
//! lifecycle rule (3 days).

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::crypto::Envelope;
use crate::crypto::bundle::{BundleCryptoError, BundleKey, BundleSealer};
use crate::domain::analysis::{Analysis, PracticeResponse};
use crate::domain::call::{Call, CallStatus};
use crate::domain::transcript::Transcript;
use crate::ids::{ExportId, TeamId, TenantId, UserId};
use crate::keys;
use crate::ports::{
    AuditLog, BlobError, BlobStore, CallRepository, Cursor, DocumentKind, DocumentRepository,
    ExportJobRepository, PageRequest, PlaybookRepository, ProgressRepository, StoreError,
    TeamRepository, TenantRepository, UsageLog,
};
use crate::usecases::call_details::{CallDetails, open_details};
use crate::usecases::documents::{DocumentError, DocumentVault};
use crate::usecases::practice;
use crate::usecases::progress::{ProgressError, load_live_progress};
use crate::usecases::streamed::{MIN_PART_SIZE, StreamedObject};

pub const EXPORT_SCHEMA: &str = "callcoach.export.v1";

/// What a bundle's object is: sealed bytes, not JSON, until opened with its key.
pub const SEALED_BUNDLE_CONTENT_TYPE: &str = "application/octet-stream";

/// Bytes of bundle gathered before they go to S3 as one part: the smallest S3 accepts, to keep
/// an export's memory low (10,000 parts of it still allow 50 GB).
pub const EXPORT_PART_SIZE: usize = MIN_PART_SIZE;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportScope {
    User,
    Workspace,
}

#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ExportCounts {
    pub calls: u64,
    pub transcripts: u64,
    pub analyses: u64,
    pub highlights: u64,
    pub practice_responses: u64,
    pub goals: u64,
    pub audit_events: u64,
    pub usage_events: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("a store failed")]
    Store(#[from] StoreError),
    #[error("a document could not be read")]
    Document(#[from] DocumentError),
    #[error("progress could not be read")]
    Progress(#[from] ProgressError),
    #[error("a playbook could not be read")]
    Playbook(#[from] crate::usecases::playbooks::PlaybookError),
    #[error("the bundle could not be written")]
    Blob(#[from] BlobError),
    #[error("the bundle could not be encoded")]
    Encode(#[from] serde_json::Error),
    #[error("the bundle could not be sealed")]
    Seal(#[from] BundleCryptoError),
    /// A deletion withdrew the workspace's bundles while this one was written: it may hold
    /// what was deleted, so it was removed again.
    #[error("a deletion withdrew the workspace's bundles while this one was written")]
    Withdrawn,
}

/// A bundle written: where, what it holds, and the key that opens it (the caller hands it to
/// the requester or keeps it sealed; nothing else holds it).
#[derive(Debug)]
pub struct WrittenExport {
    pub key: String,
    pub counts: ExportCounts,
    pub bundle_key: BundleKey,
}

/// What to export; `teams` are those the requester's role lets them export from.
pub struct ExportRequest<'a> {
    pub tenant: &'a TenantId,
    pub requester: &'a UserId,
    pub scope: ExportScope,
    pub teams: Vec<TeamId>,
    pub export_id: &'a ExportId,
    pub now: OffsetDateTime,
    /// [`EXPORT_PART_SIZE`] in production; tests use small parts to see many of them.
    pub part_size: usize,
}

impl ExportRequest<'_> {
    /// Where the bundle is written ([`crate::keys`] holds every object key): under its
    /// requester for a user's own, so that deleting the user or a call of theirs finds it.
    pub fn key(&self) -> String {
        match self.scope {
            ExportScope::User => keys::user_export_key(self.tenant, self.requester, self.export_id),
            ExportScope::Workspace => keys::workspace_export_key(self.tenant, self.export_id),
        }
    }
}

/// Whose data a deletion removed, for the bundles it withdraws.
#[derive(Debug, Clone, Copy)]
pub enum Withdrawal<'a> {
    /// One user's data (the user, or a call of which they are the rep).
    Of(&'a UserId),
    /// Several users' data at once (a team): every user's own bundles go.
    EveryUser,
    /// The whole workspace: every bundle and every document view.
    Everything,
}

/// Deletes the export bundles that may hold what a deletion removes: every workspace bundle
/// (each holds all of the workspace) and the own bundles of the users it concerns. Done before
/// the deletion itself, so that a retried request withdraws them again; a bundle withdrawn
/// for a deletion that is then refused (a legal hold) is only a copy, exported again at will.
/// Their presigned links die with them. The withdrawal is noted first, so that an export
/// running meanwhile, whose bundle may land after this purge, finds the note and withdraws its
/// own ([`write_export`]). Returns the object versions removed.
pub async fn withdraw_bundles<S: ExportJobRepository, B: BlobStore>(
    store: &S,
    blobs: &B,
    tenant: &TenantId,
    withdrawal: Withdrawal<'_>,
    now: OffsetDateTime,
) -> Result<usize, WithdrawalError> {
    store.note_exports_withdrawn(tenant, now).await?;
    let prefixes = match withdrawal {
        Withdrawal::Of(user) => vec![
            keys::workspace_exports_prefix(tenant),
            keys::user_exports_prefix(tenant, user),
        ],
        Withdrawal::EveryUser => vec![
            keys::workspace_exports_prefix(tenant),
            keys::all_user_exports_prefix(tenant),
        ],
        Withdrawal::Everything => vec![keys::exports_prefix(tenant)],
    };
    let mut removed = 0;
    for prefix in prefixes {
        removed += blobs.purge_prefix(&prefix).await?;
    }
    if removed > 0 {
        tracing::info!(tenant = %tenant, versions = removed, "export bundles withdrawn");
    }
    Ok(removed)
}

#[derive(Debug, thiserror::Error)]
pub enum WithdrawalError {
    #[error("the withdrawal could not be noted")]
    Store(#[from] StoreError),
    #[error("the bundles could not be removed")]
    Blob(#[from] BlobError),
}

/// Items the bundle reads of a list (a team's calls, audit events, usage events) at a time.
const LIST_PAGE: u16 = 100;

/// Every list is walked the same way: from [`first_page`], then [`page_after`] the cursor each
/// page ends with, until that gives `None`.
fn first_page() -> Option<PageRequest> {
    Some(PageRequest::first(LIST_PAGE).expect("100 is a valid page size"))
}

fn page_after(next: Option<Cursor>) -> Option<PageRequest> {
    next.map(|cursor| PageRequest::new(LIST_PAGE, Some(cursor)).expect("valid page"))
}

/// Appends `"name":value` pieces of one JSON object to a sealed, streamed object: the JSON
/// gathers in `plain`, whole chunks of it go sealed to the object, and every piece may send a
/// part.
struct BundleWriter<'a, B> {
    object: StreamedObject<'a, B>,
    sealer: BundleSealer,
    plain: Vec<u8>,
    first_in_list: bool,
}

impl<B: BlobStore> BundleWriter<'_, B> {
    fn name(&mut self, name: &str) -> Result<(), ExportError> {
        serde_json::to_writer(&mut self.plain, name)?;
        self.plain.push(b':');
        Ok(())
    }
    async fn field<T: Serialize>(&mut self, name: &str, value: &T) -> Result<(), ExportError> {
        self.name(name)?;
        serde_json::to_writer(&mut self.plain, value)?;
        self.plain.push(b',');
        self.send().await
    }
    fn open_list(&mut self, name: &str) -> Result<(), ExportError> {
        self.name(name)?;
        self.plain.push(b'[');
        self.first_in_list = true;
        Ok(())
    }
    async fn item<T: Serialize>(&mut self, value: &T) -> Result<(), ExportError> {
        if !self.first_in_list {
            self.plain.push(b',');
        }
        self.first_in_list = false;
        serde_json::to_writer(&mut self.plain, value)?;
        self.send().await
    }
    fn close_list(&mut self) {
        self.plain.extend_from_slice(b"],");
    }
    /// Seals the whole chunks written so far and sends a part once there is one.
    async fn send(&mut self) -> Result<(), ExportError> {
        self.sealer
            .seal_whole_chunks(&mut self.plain, self.object.buffer())?;
        Ok(self.object.send_full_part().await?)
    }
    /// Seals the rest and makes the object readable.
    async fn finish(self) -> Result<(), ExportError> {
        let mut object = self.object;
        self.sealer.finish(self.plain, object.buffer())?;
        object.finish().await?;
        Ok(())
    }
}

crate::bound_alias! {
    /// The stores an export reads.
    pub trait ExportSource = CallRepository
        + DocumentRepository
        + ProgressRepository
        + PlaybookRepository
        + AuditLog
        + TenantRepository
        + TeamRepository
        + UsageLog
        + ExportJobRepository
}

/// Writes the bundle, sealed under a fresh key of its own ([`crate::crypto::bundle`]), and
/// returns where it is, its counts and its key. On any failure nothing is left readable under
/// the object key.
pub async fn write_export<S: ExportSource, B: BlobStore, E: Envelope>(
    store: &S,
    blobs: &B,
    envelope: &E,
    request: &ExportRequest<'_>,
) -> Result<WrittenExport, ExportError> {
    let key = request.key();
    let bundle_key = BundleKey::generate()?;
    let mut bundle = BundleWriter {
        object: StreamedObject::new(
            blobs,
            key.clone(),
            SEALED_BUNDLE_CONTENT_TYPE,
            request.part_size,
        ),
        sealer: BundleSealer::new(&bundle_key),
        plain: Vec::new(),
        first_in_list: true,
    };
    match write_bundle(store, blobs, envelope, request, &mut bundle).await {
        Ok(counts) => {
            bundle.finish().await?;
            // Landed before a deletion's note: its purge, which follows the note, takes the
            // bundle. Landed after a note later than this export's start: the deletion ran
            // while this export read, so the bundle is this export's to withdraw. (The api's
            // clocks are those of Lambda, kept within a millisecond by Amazon Time Sync.)
            let withdrawn = store.exports_withdrawn_at(request.tenant).await?;
            if withdrawn.is_some_and(|at| at > request.now) {
                blobs.purge_prefix(&key).await?;
                return Err(ExportError::Withdrawn);
            }
            Ok(WrittenExport {
                key,
                counts,
                bundle_key,
            })
        }
        Err(error) => {
            if let Err(abort) = bundle.object.abort().await {
                tracing::warn!(error = %abort, "could not abort a failed export's upload; the lifecycle rule removes its parts");
            }
            Err(error)
        }
    }
}

async fn write_bundle<S: ExportSource, B: BlobStore, E: Envelope>(
    store: &S,
    blobs: &B,
    envelope: &E,
    request: &ExportRequest<'_>,
    bundle: &mut BundleWriter<'_, B>,
) -> Result<ExportCounts, ExportError> {
    let tenant = request.tenant;
    let vault = DocumentVault {
        repository: store,
        blobs,
        envelope,
    };
    let mut counts = ExportCounts::default();
    bundle.plain.push(b'{');
    bundle.field("schema", &EXPORT_SCHEMA).await?;
    bundle.field("tenant_id", tenant).await?;
    bundle.field("scope", &request.scope).await?;
    bundle.field("requested_by", request.requester).await?;
    bundle
        .field(
            "created_at",
            &request
                .now
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
        )
        .await?;

    let wanted = |call: &Call| {
        call.status != CallStatus::Deleted
            && (request.scope == ExportScope::Workspace || &call.rep_id == request.requester)
    };
    let mut reps = BTreeSet::new();
    bundle.open_list("calls")?;
    for team in &request.teams {
        let mut page = first_page();
        while let Some(at) = page.take() {
            let listed = store.list_team_calls(tenant, team, &at).await?;
            for call in listed.items.iter().filter(|c| wanted(c)) {
                let (transcript, analysis) = if call.transcript_version > 0 {
                    let version = call.transcript_version;
                    let transcript: Option<Transcript> = vault
                        .get(tenant, &call.call_id, DocumentKind::Transcript, version)
                        .await?;
                    let analysis: Option<Analysis> = vault
                        .get(tenant, &call.call_id, DocumentKind::Analysis, version)
                        .await?;
                    (transcript, analysis)
                } else {
                    (None, None)
                };
                counts.calls += 1;
                counts.transcripts += u64::from(transcript.is_some());
                if let Some(a) = &analysis {
                    counts.analyses += 1;
                    counts.highlights += a.highlights.len() as u64;
                }
                let practice: Vec<PracticeResponse> =
                    practice::list_responses(&vault, tenant, &call.call_id).await?;
                counts.practice_responses += practice.len() as u64;
                reps.insert(call.rep_id.clone());
                let details = open_details(vault.envelope, call)
                    .await
                    .map_err(DocumentError::from)?;
                let entry = CallEntry {
                    call: call_metadata(call, &details),
                    transcript: transcript.as_ref(),
                    analysis: analysis.as_ref(),
                    practice_responses: &practice,
                };
                bundle.item(&entry).await?;
            }
            page = page_after(listed.next);
        }
    }
    bundle.close_list();

    if request.scope == ExportScope::User {
        reps = BTreeSet::from([request.requester.clone()]);
    }
    bundle.open_list("progress")?;
    for rep in &reps {
        if let Some(progress) = load_live_progress(store, envelope, tenant, rep).await? {
            counts.goals += progress.current_goals.len() as u64;
            bundle
                .item(&json!({"rep_id": rep, "progress": progress}))
                .await?;
        }
    }
    bundle.close_list();

    bundle.open_list("playbooks")?;
    let mut retention = Value::Null;
    if request.scope == ExportScope::Workspace {
        for team in &request.teams {
            if let Some(playbook) =
                crate::usecases::playbooks::load_playbook(store, envelope, tenant, team).await?
            {
                bundle
                    .item(&json!({"team_id": team, "playbook": playbook}))
                    .await?;
            }
        }
        if let Some(workspace) = store.get_tenant(tenant).await? {
            retention = json!({"policy": workspace.retention, "legal_hold": workspace.legal_hold});
        }
    }
    bundle.close_list();
    bundle.field("retention", &retention).await?;

    bundle.open_list("audit_events")?;
    let mut page = first_page();
    while let Some(at) = page.take() {
        let listed = store.list(tenant, &at).await?;
        for event in &listed.items {
            let mine = event.actor.as_ref() == Some(request.requester);
            if request.scope == ExportScope::Workspace || mine {
                counts.audit_events += 1;
                bundle.item(event).await?;
            }
        }
        page = page_after(listed.next);
    }
    bundle.close_list();

    // Usage is personal: the requester's own views, whatever the scope.
    bundle.open_list("usage_events")?;
    let mut page = first_page();
    while let Some(at) = page.take() {
        let listed = store
            .views_of_user(tenant, request.requester, request.now, &at)
            .await?;
        for view in &listed.items {
            counts.usage_events += 1;
            bundle.item(view).await?;
        }
        page = page_after(listed.next);
    }
    bundle.close_list();
    // The last field carries no trailing comma.
    bundle.name("counts")?;
    serde_json::to_writer(&mut bundle.plain, &counts)?;
    bundle.plain.push(b'}');
    Ok(counts)
}

/// One call of the bundle, serialized from borrowed parts (no JSON tree copy of a transcript).
#[derive(Serialize)]
struct CallEntry<'a> {
    call: Value,
    transcript: Option<&'a Transcript>,
    analysis: Option<&'a Analysis>,
    practice_responses: &'a [PracticeResponse],
}

/// The call's metadata as the API shows it: no storage keys or job secrets.
fn call_metadata(call: &Call, details: &CallDetails) -> Value {
    json!({
        "call_id": call.call_id,
        "team_id": call.team_id,
        "rep_id": call.rep_id,
        "title": details.title,
        "call_type": call.call_type,
        "company_domain": details.company_domain,
        "buyer_persona": details.buyer_persona,
        "status": call.status,
        "failure_reason": call.failure_reason,
        "rep_speaker": details.rep_speaker,
        "legal_hold": call.legal_hold,
        "created_at": call.created_at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::fakes::{
        CallSeed, InMemoryBlobStore, InMemoryStore, ManualClock, fake_cipher_over,
        seed_transcribed_call,
    };
    use crate::ports::IdGenerator;
    use crate::system::RandomIds;

    const NOW: OffsetDateTime = datetime!(2026-11-24 2:00 UTC);
    /// Lines per seeded transcript: about 20 KB of bundle per call.
    const LINES: usize = 400;

    struct Seeded {
        store: InMemoryStore,
        blobs: InMemoryBlobStore,
        tenant: TenantId,
        team: TeamId,
        rep: UserId,
    }

    async fn seeded(calls: usize) -> Seeded {
        let seeded = Seeded {
            store: InMemoryStore::default(),
            blobs: InMemoryBlobStore::default(),
            tenant: TenantId::parse("export-tenant").unwrap(),
            team: RandomIds.mint(),
            rep: UserId::parse("rep-1").unwrap(),
        };
        let envelope = fake_cipher_over(seeded.store.clone(), ManualClock::at(NOW));
        for index in 0..calls {
            let seed = CallSeed {
                tenant: &seeded.tenant,
                team: &seeded.team,
                rep: &seeded.rep,
                utterances: LINES,
                marker: &format!("canary-{index}"),
            };
            seed_transcribed_call(&seeded.store, &seeded.blobs, &envelope, seed).await;
        }
        seeded
    }

    async fn export(seeded: &Seeded, part_size: usize) -> Result<WrittenExport, ExportError> {
        let envelope = fake_cipher_over(seeded.store.clone(), ManualClock::at(NOW));
        let request = ExportRequest {
            tenant: &seeded.tenant,
            requester: &seeded.rep,
            scope: ExportScope::User,
            teams: vec![seeded.team.clone()],
            export_id: &RandomIds.mint(),
            now: NOW,
            part_size,
        };
        write_export(&seeded.store, &seeded.blobs, &envelope, &request).await
    }

    /// The bundle as its requester reads it: opened with the key they were handed.
    async fn opened(seeded: &Seeded, written: &WrittenExport) -> Value {
        let stored = seeded.blobs.get(&written.key).await.unwrap().unwrap();
        let plain = crate::crypto::bundle::open_bundle(&written.bundle_key, &stored).unwrap();
        serde_json::from_slice(&plain).unwrap()
    }

    #[tokio::test]
    async fn a_stored_bundle_holds_no_readable_byte_of_what_it_exports() {
        let seeded = seeded(3).await;
        let written = export(&seeded, 64 * 1024).await.unwrap();
        let stored = seeded.blobs.get(&written.key).await.unwrap().unwrap();
        for needle in ["canary-0", "canary-2", EXPORT_SCHEMA, "rep-1"] {
            assert!(
                !stored.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "{needle} is readable in the stored bundle"
            );
        }
        assert_eq!(
            opened(&seeded, &written).await["calls"]
                .as_array()
                .unwrap()
                .len(),
            3
        );
        let other = BundleKey::generate().unwrap();
        assert!(crate::crypto::bundle::open_bundle(&other, &stored).is_err());
    }

    #[tokio::test]
    async fn an_export_a_deletion_withdrew_meanwhile_withdraws_its_own_bundle() {
        use crate::ports::ExportJobRepository;
        let seeded = seeded(2).await;
        // A withdrawal an hour before this export began leaves it be.
        let long_ago = NOW - time::Duration::hours(1);
        let withdrawal = Withdrawal::Of(&seeded.rep);
        withdraw_bundles(
            &seeded.store,
            &seeded.blobs,
            &seeded.tenant,
            withdrawal,
            long_ago,
        )
        .await
        .unwrap();
        let kept = export(&seeded, EXPORT_PART_SIZE).await.unwrap();
        assert_eq!(seeded.blobs.list(&kept.key).await.unwrap().len(), 1);

        // A deletion withdrew the bundles while this one was written (its note is later than
        // the export's start, and its purge ran before the bundle landed): the export takes
        // its bundle back and says why, rather than hand out the deleted data.
        let during = NOW + time::Duration::seconds(5);
        seeded
            .store
            .note_exports_withdrawn(&seeded.tenant, during)
            .await
            .unwrap();
        let before = seeded.blobs.list("exports/").await.unwrap();
        let refused = export(&seeded, EXPORT_PART_SIZE).await;
        assert!(
            matches!(refused, Err(ExportError::Withdrawn)),
            "{refused:?}"
        );
        assert_eq!(seeded.blobs.list("exports/").await.unwrap(), before);
    }

    #[tokio::test]
    async fn a_large_bundle_goes_to_the_store_in_parts_of_about_the_part_size() {
        let seeded = seeded(30).await;
        let part_size = 64 * 1024;
        let written = export(&seeded, part_size).await.unwrap();
        let (bundle, counts) = (opened(&seeded, &written).await, &written.counts);
        assert_eq!(bundle["schema"], EXPORT_SCHEMA);
        assert_eq!(counts.calls, 30);
        assert_eq!(counts.transcripts, 30);
        let calls = bundle["calls"].as_array().unwrap();
        assert_eq!(calls.len(), 30);
        let mut canaries: Vec<String> = calls
            .iter()
            .map(|c| {
                c["transcript"]["utterances"][0]["text"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        canaries.sort();
        canaries.dedup();
        assert_eq!(
            canaries.len(),
            30,
            "every call's own transcript is in the bundle"
        );
        assert_eq!(bundle["counts"]["calls"], 30);

        // One call is far smaller than a part: every part but the last is a part's worth plus
        // at most one call, so the writer never held more than that.
        let one_call = serde_json::to_vec(&calls[0]).unwrap().len();
        let sizes = seeded.blobs.part_sizes();
        let total: usize = sizes.iter().sum();
        assert!(sizes.len() >= total / (part_size + one_call), "{sizes:?}");
        assert!(sizes.len() > 4, "{sizes:?}");
        for size in &sizes[..sizes.len() - 1] {
            assert!(
                *size >= part_size && *size < part_size + 2 * one_call,
                "{sizes:?}"
            );
        }
        assert_eq!(seeded.blobs.open_uploads(), 0);
    }

    #[tokio::test]
    async fn an_export_failing_midway_leaves_nothing_under_its_key_and_no_parts() {
        let seeded = seeded(30).await;
        seeded.blobs.fail_part(3);
        let failed = export(&seeded, 64 * 1024).await;
        assert!(matches!(failed, Err(ExportError::Blob(_))), "{failed:?}");
        assert!(seeded.blobs.list("exports/").await.unwrap().is_empty());
        assert_eq!(
            seeded.blobs.open_uploads(),
            0,
            "the sent parts are discarded"
        );
        assert_eq!(seeded.blobs.part_sizes().len(), 2);
    }

    #[tokio::test]
    async fn every_view_of_the_requester_is_exported_across_pages() {
        use crate::domain::usage::UsageEvent;
        use crate::ports::UsageLog;
        let seeded = seeded(1).await;
        let call = seeded.store.calls_of_tenant(&seeded.tenant)[0]
            .call_id
            .clone();
        for minute in 0..250 {
            let at = NOW - time::Duration::minutes(minute);
            let view = |user: &UserId| UsageEvent {
                tenant_id: seeded.tenant.clone(),
                user_id: user.clone(),
                call_id: call.clone(),
                view: crate::domain::usage::UsageView::Transcript,
                at,
            };
            seeded.store.record_view(&view(&seeded.rep)).await.unwrap();
            let other = UserId::parse("rep-2").unwrap();
            seeded.store.record_view(&view(&other)).await.unwrap();
        }
        let written = export(&seeded, EXPORT_PART_SIZE).await.unwrap();
        assert_eq!(written.counts.usage_events, 250);
        let bundle = opened(&seeded, &written).await;
        let views = bundle["usage_events"].as_array().unwrap();
        assert_eq!(views.len(), 250);
        assert!(views.iter().all(|v| v["user_id"] == "rep-1"));
    }

    #[tokio::test]
    async fn a_small_bundle_is_one_plain_put() {
        let seeded = seeded(2).await;
        let written = export(&seeded, EXPORT_PART_SIZE).await.unwrap();
        assert_eq!(written.counts.calls, 2);
        assert!(seeded.blobs.part_sizes().is_empty());
        let bundle = opened(&seeded, &written).await;
        assert_eq!(bundle["calls"].as_array().unwrap().len(), 2);
    }
}
