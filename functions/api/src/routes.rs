//! Route handlers: parse, check access in one call to [`Caller`], call the use case, answer.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use callcoach_shared::domain::SCHEMA_VERSION;
use callcoach_shared::domain::analysis::Analysis;
use callcoach_shared::domain::audit::{AuditEvent, Outcome};
use callcoach_shared::domain::call::{Call, CallStatus, CallType};
use callcoach_shared::domain::org::{DeletionRequest, Membership, Role, Team, Tenant};
use callcoach_shared::domain::playbook::Playbook;
use callcoach_shared::domain::retention::{CALL_WINDOW_CHOICES, RECORDING_WINDOW_CHOICES};
use callcoach_shared::domain::transcript::Transcript;
use callcoach_shared::domain::usage::UsageEvent;
use callcoach_shared::ids::{CallId, ExportId, GoalId, TeamId, UserId};
use callcoach_shared::keys::document_view_key;
use callcoach_shared::messages::PipelineMessage;
use callcoach_shared::ports::{
    AdminRepository, BlobStore, CallRepository, Clock, DocumentKind, ExportJobRepository,
    IdGenerator, PageRequest, PlaybookRepository, Queue, TeamRepository, TenantRepository,
    UsageLog,
};
use callcoach_shared::usecases::call_lifecycle::{CallLifecycle, Mover};
use callcoach_shared::usecases::calls::{
    Change, NewCall, create_call as create_call_use_case, request_rescore,
};
use callcoach_shared::usecases::deletion::{self, DeletionError};
use callcoach_shared::usecases::documents::DocumentVault;
use callcoach_shared::usecases::export::{
    EXPORT_PART_SIZE, ExportRequest, ExportScope, write_export,
};
use callcoach_shared::usecases::export_job::{ExportFailure, ExportJob, ExportState};
use callcoach_shared::usecases::ingest::{MAX_RECORDING_BYTES, MAX_TRANSCRIPT_BYTES};
use callcoach_shared::usecases::practice::{self, PracticeError};
use callcoach_shared::usecases::prep::{
    MAX_CALLS as PREP_MAX_CALLS, PastCall, PrepCard, prep_card as build_prep_card,
};
use callcoach_shared::usecases::progress::{forget_call_progress, update_progress};
use callcoach_shared::usecases::quota::{self, Meter};
use callcoach_shared::usecases::workspace::{self, WorkspaceError};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;

use callcoach_shared::access::ProgressScope;

use crate::cursors;
use crate::error::ApiError;
use crate::extract::{Authenticated, StrictJson};
use crate::{Api, Ports};

type ApiState<P> = State<Arc<Api<P>>>;

/// How long a presigned upload stays valid.
const UPLOAD_URL_TTL: Duration = Duration::from_secs(15 * 60);
const DEFAULT_PAGE_SIZE: u16 = 20;
const UPLOAD_CONTENT_TYPES: &[&str] = &[
    "text/vtt",
    "application/x-subrip",
    "application/json",
    "text/plain",
    "audio/wav",
    "audio/x-wav",
    "audio/mpeg",
    "audio/mp4",
    "audio/x-m4a",
    "audio/webm",
    "audio/ogg",
    "audio/flac",
    "video/mp4",
    "video/webm",
];

pub async fn health() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

pub async fn not_found() -> ApiError {
    ApiError::NotFound
}

fn text_field(name: &str, value: &str, max: usize) -> Result<(), ApiError> {
    let length = value.trim().chars().count();
    if length == 0 || length > max || value.chars().any(char::is_control) {
        return Err(ApiError::BadRequest(format!(
            "{name}: must be 1 to {max} characters, no control characters"
        )));
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateTeam {
    name: String,
    /// Who owns the new team; the admin creating it when left out.
    owner_id: Option<String>,
}

#[derive(Serialize)]
struct TeamView<'a> {
    team_id: &'a TeamId,
    name: &'a str,
    owner_id: &'a UserId,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
}

pub async fn create_team<P: Ports>(
    State(api): ApiState<P>,
    who: Authenticated,
    StrictJson(body): StrictJson<CreateTeam>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    if !who.caller.can_manage_workspace() {
        return Err(ApiError::NotFound);
    }
    text_field("name", &body.name, 100)?;
    let owner_id = match &body.owner_id {
        Some(raw) => UserId::parse(raw.as_str())
            .map_err(|_| ApiError::BadRequest("owner_id: not a valid user id".into()))?,
        None => who.caller.user.clone(),
    };
    let team = Team {
        schema_version: SCHEMA_VERSION,
        tenant_id: who.tenant.clone(),
        team_id: api.ports.ids().mint(),
        name: body.name.trim().to_owned(),
        created_at: api.ports.clock().now(),
    };
    let owner = Membership {
        tenant_id: who.tenant.clone(),
        team_id: team.team_id.clone(),
        user_id: owner_id,
        role: Role::Owner,
    };
    api.ports.store().create_team(&team, &owner).await?;
    let view = TeamView {
        team_id: &team.team_id,
        name: &team.name,
        owner_id: &owner.user_id,
        created_at: team.created_at,
    };
    Ok((StatusCode::CREATED, Json(json!(view))))
}

fn team_id(raw: &str) -> Result<TeamId, ApiError> {
    TeamId::parse(raw).map_err(|_| ApiError::NotFound)
}

fn call_id(raw: &str) -> Result<CallId, ApiError> {
    CallId::parse(raw).map_err(|_| ApiError::NotFound)
}

pub async fn list_members<P: Ports>(
    State(api): ApiState<P>,
    who: Authenticated,
    Path(team): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let team = team_id(&team)?;
    if !who.caller.can_view_members(&team) && !who.caller.can_manage_team(&team) {
        return Err(ApiError::NotFound);
    }
    let members = api
        .ports
        .store()
        .members_of_team(&who.tenant, &team)
        .await?;
    let items: Vec<Value> = members
        .iter()
        .map(|m| json!({"user_id": m.user_id, "role": m.role}))
        .collect();
    Ok(Json(json!({ "items": items })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PutMember {
    role: Role,
}

pub async fn put_member<P: Ports>(
    State(api): ApiState<P>,
    who: Authenticated,
    Path((team, user)): Path<(String, String)>,
    StrictJson(body): StrictJson<PutMember>,
) -> Result<Json<Value>, ApiError> {
    let team = team_id(&team)?;
    let user = UserId::parse(user).map_err(|_| ApiError::NotFound)?;
    if !who.caller.can_manage_team(&team) || !team_exists(&api, &who, &team).await? {
        return Err(ApiError::NotFound);
    }
    if body.role != Role::Owner {
        ensure_another_owner(&api, &who, &team, &user).await?;
    }
    let membership = Membership {
        tenant_id: who.tenant.clone(),
        team_id: team,
        user_id: user,
        role: body.role,
    };
    api.ports.store().put_membership(&membership).await?;
    Ok(Json(
        json!({"user_id": membership.user_id, "role": membership.role}),
    ))
}

/// Whether the team exists (admins may name any team id; only real ones are changed).
async fn team_exists<P: Ports>(
    api: &Api<P>,
    who: &Authenticated,
    team: &TeamId,
) -> Result<bool, ApiError> {
    Ok(api
        .ports
        .store()
        .get_team(&who.tenant, team)
        .await?
        .is_some())
}

/// A team always keeps an owner: its last one cannot step down, leave or be removed.
async fn ensure_another_owner<P: Ports>(
    api: &Api<P>,
    who: &Authenticated,
    team: &TeamId,
    leaving: &UserId,
) -> Result<(), ApiError> {
    let members = api.ports.store().members_of_team(&who.tenant, team).await?;
    let is_owner = |m: &&Membership| m.role == Role::Owner;
    let leaving_owner = members
        .iter()
        .filter(is_owner)
        .any(|m| &m.user_id == leaving);
    if !leaving_owner
        || members
            .iter()
            .filter(is_owner)
            .any(|m| &m.user_id != leaving)
    {
        Ok(())
    } else {
        Err(ApiError::Conflict("a team needs at least one owner"))
    }
}

pub async fn remove_member<P: Ports>(
    State(api): ApiState<P>,
    who: Authenticated,
    Path((team, user)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let team = team_id(&team)?;
    let user = UserId::parse(user).map_err(|_| ApiError::NotFound)?;
    if !who.caller.can_manage_team(&team) || !team_exists(&api, &who, &team).await? {
        return Err(ApiError::NotFound);
    }
    ensure_another_owner(&api, &who, &team, &user).await?;
    api.ports
        .store()
        .remove_membership(&who.tenant, &team, &user)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What clients see of a call: no storage keys, sequencers or schema internals.
#[derive(Serialize)]
pub struct CallView<'a> {
    call_id: &'a CallId,
    team_id: &'a TeamId,
    rep_id: &'a UserId,
    title: &'a str,
    call_type: CallType,
    company_domain: Option<&'a str>,
    buyer_persona: Option<&'a str>,
    status: CallStatus,
    failure_reason: Option<&'a str>,
    rep_speaker: Option<&'a str>,
    transcript_version: u32,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    updated_at: OffsetDateTime,
}

pub fn call_view(call: &Call) -> CallView<'_> {
    CallView {
        call_id: &call.call_id,
        team_id: &call.team_id,
        rep_id: &call.rep_id,
        title: &call.title,
        call_type: call.call_type,
        company_domain: call.company_domain.as_deref(),
        buyer_persona: call.buyer_persona.as_deref(),
        status: call.status,
        failure_reason: call.failure_reason.as_deref(),
        rep_speaker: call.rep_speaker.as_deref(),
        transcript_version: call.transcript_version,
        created_at: call.created_at,
        updated_at: call.updated_at,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateCall {
    team_id: String,
    title: String,
    call_type: CallType,
    rep_id: Option<String>,
    company_domain: Option<String>,
    buyer_persona: Option<String>,
    file_name: String,
    content_type: String,
    content_length: u64,
}

pub async fn create_call<P: Ports>(
    State(api): ApiState<P>,
    who: Authenticated,
    StrictJson(body): StrictJson<CreateCall>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    text_field("title", &body.title, 200)?;
    text_field("file_name", &body.file_name, 200)?;
    if body.file_name.contains('/') || body.file_name == "." || body.file_name == ".." {
        return Err(ApiError::BadRequest(
            "file_name: must not contain '/' or be '.' or '..'".into(),
        ));
    }
    for (name, value) in [
        ("company_domain", &body.company_domain),
        ("buyer_persona", &body.buyer_persona),
    ] {
        if let Some(value) = value {
            text_field(name, value, 200)?;
        }
    }
    if !UPLOAD_CONTENT_TYPES.contains(&body.content_type.as_str()) {
        return Err(ApiError::BadRequest(format!(
            "content_type: must be one of {}",
            UPLOAD_CONTENT_TYPES.join(", ")
        )));
    }
    let limit =
        if body.content_type.starts_with("audio/") || body.content_type.starts_with("video/") {
            MAX_RECORDING_BYTES
        } else {
            MAX_TRANSCRIPT_BYTES
        };
    if body.content_length == 0 || body.content_length > limit {
        return Err(ApiError::BadRequest(format!(
            "content_length: must be 1 to {limit} bytes for this content type"
        )));
    }
    let team = team_id(&body.team_id)?;
    let rep = match &body.rep_id {
        Some(raw) => UserId::parse(raw.as_str())
            .map_err(|_| ApiError::BadRequest("rep_id: not a valid user id".into()))?,
        None => who.caller.user.clone(),
    };
    let rep_is_member = api
        .ports
        .store()
        .memberships_of_user(&who.tenant, &rep)
        .await?
        .iter()
        .any(|m| m.team_id == team);
    if !who.caller.can_create_call(&team, &rep, rep_is_member) {
        return Err(ApiError::NotFound);
    }
    // A refused request counts nothing; one that fails after counting gives it back.
    let now = api.ports.clock().now();
    let quotas = who
        .workspace
        .as_ref()
        .and_then(|w| w.quotas)
        .unwrap_or(api.settings.quotas);
    let spends = [(Meter::Calls, 1), (Meter::UploadBytes, body.content_length)];
    let receipt =
        match quota::spend_all(api.ports.store(), &who.tenant, &quotas, &spends, now).await? {
            Ok(receipt) => receipt,
            Err((meter, retry_after)) => {
                return Err(ApiError::TooManyRequests {
                    meter: meter.as_str(),
                    retry_after,
                });
            }
        };
    match create_and_presign(&api, &who, &team, rep, body).await {
        Ok(created) => Ok(created),
        Err(error) => {
            if let Err(undo) = quota::give_back(api.ports.store(), &who.tenant, receipt).await {
                tracing::warn!(error = %undo, "a failed call's quota spend was not given back");
            }
            Err(error)
        }
    }
}

/// The call and its presigned upload, once access and quotas allowed it.
async fn create_and_presign<P: Ports>(
    api: &Api<P>,
    who: &Authenticated,
    team: &TeamId,
    rep: UserId,
    body: CreateCall,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let new = NewCall {
        team_id: team.clone(),
        rep_id: rep,
        title: body.title.trim().to_owned(),
        call_type: body.call_type,
        company_domain: body.company_domain,
        buyer_persona: body.buyer_persona,
    };
    let call = create_call_use_case(
        api.ports.store(),
        api.ports.clock(),
        api.ports.ids(),
        &who.tenant,
        new,
    )
    .await?;
    let key = format!(
        "{}{}/{}/{}",
        callcoach_shared::keys::UPLOADS_AREA,
        who.tenant,
        call.call_id,
        body.file_name
    );
    let upload = api
        .ports
        .blobs()
        .presign_put(
            &key,
            &body.content_type,
            body.content_length,
            UPLOAD_URL_TTL,
        )
        .await?;
    let headers: serde_json::Map<String, Value> = upload
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "call": call_view(&call),
            "upload": {"method": upload.method, "url": upload.url, "headers": headers, "expires_in_seconds": UPLOAD_URL_TTL.as_secs()},
        })),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListCalls {
    team_id: String,
    limit: Option<u16>,
    cursor: Option<String>,
    rep_id: Option<String>,
    call_type: Option<CallType>,
    status: Option<CallStatus>,
    company_domain: Option<String>,
    /// RFC 3339; calls created at or after.
    from: Option<String>,
    /// RFC 3339; calls created before.
    to: Option<String>,
}

fn time_filter(name: &str, value: &Option<String>) -> Result<Option<OffsetDateTime>, ApiError> {
    value
        .as_deref()
        .map(|v| OffsetDateTime::parse(v, &time::format_description::well_known::Rfc3339))
        .transpose()
        .map_err(|_| ApiError::BadRequest(format!("{name}: must be an RFC 3339 date-time")))
}

pub async fn list_calls<P: Ports>(
    State(api): ApiState<P>,
    who: Authenticated,
    query: Result<Query<ListCalls>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(query) =
        query.map_err(|e| ApiError::BadRequest(format!("query: {}", e.body_text())))?;
    let team = team_id(&query.team_id)?;
    let Some(role) = who.caller.role_in(&team) else {
        return Err(ApiError::NotFound);
    };
    // A rep's listing is a query by rep (their own calls only); so is a manager's listing
    // filtered to one rep. Either way no page holds, or skips, anyone else's calls.
    let rep = match (role, &query.rep_id) {
        (Role::Rep, _) => Some(who.caller.user.clone()),
        (_, Some(raw)) => Some(
            UserId::parse(raw.as_str())
                .map_err(|_| ApiError::BadRequest("rep_id: not a valid user id".into()))?,
        ),
        (_, None) => None,
    };
    let listing = match &rep {
        Some(rep) => format!("calls/{team}/rep/{rep}"),
        None => format!("calls/{team}"),
    };
    let envelope = api.ports.envelope();
    let cursor = cursors::open(envelope, &who.tenant, &listing, query.cursor.as_deref()).await?;
    let page = PageRequest::new(query.limit.unwrap_or(DEFAULT_PAGE_SIZE), cursor)
        .map_err(|e| ApiError::BadRequest(format!("limit: {e}")))?;
    let (from, to) = (
        time_filter("from", &query.from)?,
        time_filter("to", &query.to)?,
    );
    let store = api.ports.store();
    let result = match &rep {
        Some(rep) => store.list_rep_calls(&who.tenant, &team, rep, &page).await?,
        None => store.list_team_calls(&who.tenant, &team, &page).await?,
    };
    // The other filters apply to each page the store returns, so a page may hold fewer items
    // than the limit; follow `next_cursor` until it is absent.
    let items: Vec<Value> = result
        .items
        .iter()
        .filter(|c| c.status != CallStatus::Deleted)
        .filter(|c| rep.as_ref().is_none_or(|r| &c.rep_id == r))
        .filter(|c| {
            query
                .rep_id
                .as_deref()
                .is_none_or(|r| c.rep_id.as_str() == r)
        })
        .filter(|c| query.call_type.is_none_or(|t| c.call_type == t))
        .filter(|c| query.status.is_none_or(|s| c.status == s))
        .filter(|c| {
            query.company_domain.as_deref().is_none_or(|d| {
                c.company_domain
                    .as_deref()
                    .is_some_and(|cd| cd.eq_ignore_ascii_case(d))
            })
        })
        .filter(|c| from.is_none_or(|f| c.created_at >= f) && to.is_none_or(|t| c.created_at < t))
        .map(|c| json!(call_view(c)))
        .collect();
    let next = cursors::seal(envelope, &who.tenant, &listing, result.next.as_ref()).await?;
    Ok(Json(json!({"items": items, "next_cursor": next})))
}

/// The call, if it exists and the caller may see it; otherwise the one 404.
async fn visible_call<P: Ports>(
    api: &Api<P>,
    who: &Authenticated,
    raw: &str,
) -> Result<Call, ApiError> {
    let id = call_id(raw)?;
    let call = api
        .ports
        .store()
        .get_call(&who.tenant, &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    if call.status == CallStatus::Deleted || !who.caller.can_view_call(&call) {
        return Err(ApiError::NotFound);
    }
    Ok(call)
}

/// Records that the caller viewed the call (usage, kept 13 months). A failure to record never
/// fails the read: it is logged and counted instead.
async fn record_view<P: Ports>(api: &Api<P>, who: &Authenticated, call: &Call, view: &str) {
    let event = UsageEvent {
        tenant_id: who.tenant.clone(),
        user_id: who.caller.user.clone(),
        call_id: call.call_id.clone(),
        view: view.into(),
        at: api.ports.clock().now(),
    };
    if let Err(error) = api.ports.store().record_view(&event).await {
        tracing::warn!(error = %error, "usage event not recorded");
        callcoach_shared::telemetry::emit_metrics(
            event.at.unix_timestamp() * 1000,
            &[("Function", "api")],
            &[callcoach_shared::telemetry::Metric {
                name: "UsageWriteFailed",
                value: 1.0,
                unit: "Count",
            }],
        );
    }
}

pub async fn get_call<P: Ports>(
    State(api): ApiState<P>,
    who: Authenticated,
    Path(raw): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let call = visible_call(&api, &who, &raw).await?;
    record_view(&api, &who, &call, "call").await;
    let mut body = json!({ "call": call_view(&call) });
    if call.status == CallStatus::Scored {
        let analysis = load_analysis(&api, &call).await?;
        body["overall_score"] = json!(analysis.overall_score);
        body["summary"] = json!(analysis.summary);
        body["scores"] = json!(
            analysis
                .scores
                .iter()
                .map(|s| json!({"dimension": s.dimension, "score": s.score}))
                .collect::<Vec<_>>()
        );
    }
    Ok(Json(body))
}

/// A call's current document of one kind, decrypted; 404 when there is none yet.
async fn load_document<P: Ports, T: serde::de::DeserializeOwned>(
    api: &Api<P>,
    call: &Call,
    kind: DocumentKind,
) -> Result<T, ApiError> {
    if call.transcript_version == 0 {
        return Err(ApiError::NotFound);
    }
    let vault = DocumentVault {
        repository: api.ports.store(),
        blobs: api.ports.blobs(),
        envelope: api.ports.envelope(),
    };
    vault
        .get(
            &call.tenant_id,
            &call.call_id,
            kind,
            call.transcript_version,
        )
        .await?
        .ok_or(ApiError::NotFound)
}

async fn load_analysis<P: Ports>(api: &Api<P>, call: &Call) -> Result<Analysis, ApiError> {
    load_document(api, call, DocumentKind::Analysis).await
}

async fn load_transcript<P: Ports>(api: &Api<P>, call: &Call) -> Result<Transcript, ApiError> {
    load_document(api, call, DocumentKind::Transcript).await
}

/// Answers above this many bytes of JSON go out as a link: Lambda answers at most 6 MB, and
/// API Gateway's envelope escapes every quote of the body (a document's JSON is full of them).
pub const INLINE_DOCUMENT_LIMIT: usize = 2_500_000;
/// How long the link to a large document works.
pub const DOCUMENT_LINK_LIFETIME: Duration = Duration::from_secs(15 * 60);

/// A document as the answer's body, or, when too large for one, a short-lived link to it:
/// `{"too_large": true, "bytes", "download_url", "expires_at"}`. The linked copy sits under
/// the call's export prefix (SSE-KMS, gone after three days and with the call's purge).
async fn document_answer<P: Ports, T: serde::Serialize>(
    api: &Api<P>,
    call: &Call,
    kind: DocumentKind,
    document: &T,
) -> Result<Response, ApiError> {
    let body = serde_json::to_vec(document)?;
    if body.len() <= INLINE_DOCUMENT_LIMIT {
        return Ok((
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response());
    }
    let bytes = body.len();
    let key = document_view_key(
        &call.tenant_id,
        &call.call_id,
        kind,
        call.transcript_version,
    );
    let blobs = api.ports.blobs();
    blobs.put(&key, body, "application/json").await?;
    let link = blobs.presign_get(&key, DOCUMENT_LINK_LIFETIME).await?;
    let expires_at = api.ports.clock().now() + DOCUMENT_LINK_LIFETIME;
    Ok(Json(json!({
        "too_large": true,
        "bytes": bytes,
        "download_url": link.url,
        "expires_at": rfc3339(expires_at),
    }))
    .into_response())
}

pub async fn get_transcript<P: Ports>(
    State(api): ApiState<P>,
    who: Authenticated,
    Path(raw): Path<String>,
) -> Result<Response, ApiError> {
    let call = visible_call(&api, &who, &raw).await?;
    let transcript = load_transcript(&api, &call).await?;
    record_view(&api, &who, &call, "transcript").await;
    document_answer(&api, &call, DocumentKind::Transcript, &transcript).await
}

pub async fn get_analysis<P: Ports>(
    State(api): ApiState<P>,
    who: Authenticated,
    Path(raw): Path<String>,
) -> Result<Response, ApiError> {
    let call = visible_call(&api, &who, &raw).await?;
    let analysis = load_analysis(&api, &call).await?;
    record_view(&api, &who, &call, "analysis").await;
    document_answer(&api, &call, DocumentKind::Analysis, &analysis).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetRepSpeaker {
    speaker: String,
}

/// Sets which transcript speaker is the rep and re-scores, without re-transcribing. Managers
/// and owners of the call's team only (see [`Caller::can_set_rep_speaker`]).
pub async fn set_rep_speaker<P: Ports>(
    State(api): ApiState<P>,
    who: Authenticated,
    Path(raw): Path<String>,
    StrictJson(body): StrictJson<SetRepSpeaker>,
) -> Result<Json<Value>, ApiError> {
    let mut call = visible_call(&api, &who, &raw).await?;
    if !who.caller.can_set_rep_speaker(&call) {
        return Err(ApiError::NotFound);
    }
    refuse_if_workspace_held(&api, &who).await?;
    let transcript = load_transcript(&api, &call).await?;
    let known = transcript
        .speakers
        .iter()
        .any(|s| s.label == body.speaker || s.name.as_deref() == Some(body.speaker.as_str()));
    if !known {
        return Err(ApiError::BadRequest(
            "speaker: not a speaker of this call's transcript".into(),
        ));
    }
    let now = api.ports.clock().now();
    let checked_against = call.transcript_version;
    // A call being scored is re-scored too: the running job's analysis is for the old
    // speaker, and the new request is a job of its own.
    let rescoring = request_rescore(api.ports.store(), api.ports.queue(), &mut call, now, |c| {
        if c.status == CallStatus::Deleted {
            return Err(ApiError::NotFound);
        }
        if c.transcript_version != checked_against {
            return Err(ApiError::Conflict(
                "the call's transcript changed meanwhile; retry",
            ));
        }
        refuse_rescoring_held(c)?;
        c.rep_speaker = Some(body.speaker.clone());
        Ok(())
    })
    .await?;
    Ok(Json(
        json!({"call": call_view(&call), "rescoring": rescoring}),
    ))
}

/// A held call's analysis is kept as it is: a re-score would write over it. (The workspace's
/// own hold is checked by [`refuse_if_workspace_held`].)
fn refuse_rescoring_held(call: &Call) -> Result<(), ApiError> {
    if call.legal_hold && call.status.can_rescore() {
        return Err(ApiError::Conflict(
            "the call is under legal hold; its analysis stays as it is until the hold is lifted",
        ));
    }
    Ok(())
}

/// Under a workspace legal hold no analysis is re-scored either.
async fn refuse_if_workspace_held<P: Ports>(
    api: &Api<P>,
    who: &Authenticated,
) -> Result<(), ApiError> {
    let held = api
        .ports
        .store()
        .get_tenant(&who.tenant)
        .await?
        .is_some_and(|t| t.legal_hold);
    if held {
        return Err(ApiError::Conflict(
            "the workspace is under legal hold; analyses stay as they are until it is lifted",
        ));
    }
    Ok(())
}

/// Scores the call's current transcript again, as a request of its own (after a playbook
/// change, say): the same callers as [`set_rep_speaker`]. 202 with the call; 409 while the
/// call has no transcript to score.
pub async fn rescore_call<P: Ports>(
    State(api): ApiState<P>,
    who: Authenticated,
    Path(raw): Path<String>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let mut call = visible_call(&api, &who, &raw).await?;
    if !who.caller.can_rescore(&call) {
        return Err(ApiError::NotFound);
    }
    refuse_if_workspace_held(&api, &who).await?;
    let now = api.ports.clock().now();
    let rescoring = request_rescore(api.ports.store(), api.ports.queue(), &mut call, now, |c| {
        if c.status == CallStatus::Deleted {
            return Err(ApiError::NotFound);
        }
        if !c.status.can_rescore() {
            return Err(ApiError::Conflict(
                "the call has no transcript to score yet",
            ));
        }
        refuse_rescoring_held(c)
    })
    .await?;
    debug_assert!(rescoring, "refused above when nothing can be re-scored");
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"call": call_view(&call), "rescoring": rescoring})),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListAudit {
    limit: Option<u16>,
    cursor: Option<String>,
}

/// The workspace's audit trail, newest first: admins only (team owners read none of it).
pub async fn list_audit<P: Ports>(
    State(api): ApiState<P>,
    who: Authenticated,
    query: Result<Query<ListAudit>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(query) =
        query.map_err(|e| ApiError::BadRequest(format!("query: {}", e.body_text())))?;
    if !who.caller.can_manage_workspace() {
        return Err(ApiError::NotFound);
    }
    let envelope = api.ports.envelope();
    let cursor = cursors::open(envelope, &who.tenant, "audit", query.cursor.as_deref()).await?;
    let page = PageRequest::new(query.limit.unwrap_or(DEFAULT_PAGE_SIZE), cursor)
        .map_err(|e| ApiError::BadRequest(format!("limit: {e}")))?;
    let result =
        callcoach_shared::ports::AuditLog::list(api.ports.store(), &who.tenant, &page).await?;
    let next = cursors::seal(envelope, &who.tenant, "audit", result.next.as_ref()).await?;
    Ok(Json(json!({"items": result.items, "next_cursor": next})))
}

/// A rep's progress: recent calls, rolling averages (last 5 and all kept calls), micro-goal
/// results, and the goals for the next call.
pub async fn rep_progress<P: Ports>(
    State(api): ApiState<P>,
    who: Authenticated,
    Path(raw): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let rep = UserId::parse(raw).map_err(|_| ApiError::NotFound)?;
    let rep_memberships = api
        .ports
        .store()
        .memberships_of_user(&who.tenant, &rep)
        .await?;
    let Some(scope) = who.caller.rep_progress_scope(&rep, &rep_memberships) else {
        return Err(ApiError::NotFound);
    };
    let progress = callcoach_shared::usecases::progress::load_live_progress(
        api.ports.store(),
        api.ports.envelope(),
        &who.tenant,
        &rep,
    )
    .await?
    .unwrap_or_else(|| {
        callcoach_shared::domain::progress::RepProgress::new(who.tenant.clone(), rep.clone())
    });
    let progress = match scope {
        ProgressScope::Everything => progress,
        ProgressScope::Teams(teams) => progress.seen_from(&teams),
    };
    Ok(Json(json!({
        "rep_id": rep,
        "averages": {"last_5_calls": progress.averages(5), "all_kept_calls": progress.averages(usize::MAX)},
        "calls": progress.entries,
        "current_goals": progress.current_goals,
        "completed_goals": progress.completed_goals,
    })))
}

/// The team's playbook (empty until an owner sets one): any member may read it.
pub async fn get_playbook<P: Ports>(
    State(api): ApiState<P>,
    who: Authenticated,
    Path(team): Path<String>,
) -> Result<Json<Playbook>, ApiError> {
    let team = team_id(&team)?;
    if who.caller.role_in(&team).is_none() {
        return Err(ApiError::NotFound);
    }
    Ok(Json(
        api.ports
            .store()
            .get_playbook(&who.tenant, &team)
            .await?
            .unwrap_or_default(),
    ))
}

/// Replaces the team's playbook: owners only. New scores use it; re-score to apply it to
/// past calls.
pub async fn put_playbook<P: Ports>(
    State(api): ApiState<P>,
    who: Authenticated,
    Path(team): Path<String>,
    StrictJson(playbook): StrictJson<Playbook>,
) -> Result<Json<Playbook>, ApiError> {
    let team = team_id(&team)?;
    if !who.caller.can_administer(&team) {
        return Err(ApiError::NotFound);
    }
    playbook.validate().map_err(ApiError::BadRequest)?;
    api.ports
        .store()
        .put_playbook(&who.tenant, &team, &playbook)
        .await?;
    Ok(Json(playbook))
}

/// Deletes a call: at once it answers 404 everywhere and leaves every listing; the reaper's
/// next run (hourly) purges its transcript, analysis, uploads and items. Whoever may change
/// the call may delete it.
pub async fn delete_call<P: Ports>(
    State(api): ApiState<P>,
    who: Authenticated,
    Path(raw): Path<String>,
) -> Result<StatusCode, ApiError> {
    let mut call = visible_call(&api, &who, &raw).await?;
    if !who.caller.can_change_call(&call) {
        return Err(ApiError::NotFound);
    }
    // A held call stays until its hold is lifted, whoever asks (it would otherwise answer 404
    // to the owner who set the hold, who could never lift it).
    let now = api.ports.clock().now();
    CallLifecycle::new(api.ports.store(), Mover::Api)
        .update(&mut call, |c| {
            if c.legal_hold {
                return Err(ApiError::Conflict(
                    "the call is under legal hold; lift the hold before deleting it",
                ));
            }
            c.transition(CallStatus::Deleted, now)
                .map_err(|_| ApiError::NotFound)?;
            Ok(Change::Write(()))
        })
        .await?;
    // Its scores and goals leave the rep's progress (averages, exports) now, not at the purge.
    forget_call_progress(
        api.ports.store(),
        api.ports.envelope(),
        &call.tenant_id,
        &call.rep_id,
        &call.call_id,
    )
    .await?;
    // Ids only; outside the table, so a restored backup can be brought up to date.
    tracing::info!(tenant = %who.tenant, call = %call.call_id, "call deleted");
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetLegalHold {
    legal_hold: bool,
}

/// A legal hold on one call stops its deletion by retention; owners of its team only.
pub async fn set_legal_hold<P: Ports>(
    State(api): ApiState<P>,
    who: Authenticated,
    Path(raw): Path<String>,
    StrictJson(body): StrictJson<SetLegalHold>,
) -> Result<Json<Value>, ApiError> {
    let mut call = visible_call(&api, &who, &raw).await?;
    if !who.caller.can_administer(&call.team_id) {
        return Err(ApiError::NotFound);
    }
    let now = api.ports.clock().now();
    CallLifecycle::new(api.ports.store(), Mover::Api)
        .update(&mut call, |c| {
            if c.status == CallStatus::Deleted {
                return Err(ApiError::NotFound);
            }
            c.legal_hold = body.legal_hold;
            c.updated_at = now;
            Ok(Change::Write(()))
        })
        .await?;
    Ok(Json(
        json!({"call": call_view(&call), "legal_hold": call.legal_hold}),
    ))
}

fn retention_view(tenant: &Tenant) -> Value {
    json!({
        "transcripts_days": tenant.retention.transcripts_days,
        "recordings_days_after_transcription": tenant.retention.recordings_days_after_transcription,
        "legal_hold": tenant.legal_hold,
    })
}

/// The workspace record (written by provisioning).
async fn workspace<P: Ports>(api: &Api<P>, who: &Authenticated) -> Result<Tenant, ApiError> {
    api.ports
        .store()
        .get_tenant(&who.tenant)
        .await?
        .ok_or(ApiError::NotFound)
}

/// The workspace's retention settings; its admins.
pub async fn get_retention<P: Ports>(
    State(api): ApiState<P>,
    who: Authenticated,
) -> Result<Json<Value>, ApiError> {
    if !who.caller.can_manage_workspace() {
        return Err(ApiError::NotFound);
    }
    Ok(Json(retention_view(&workspace(&api, &who).await?)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetRetention {
    /// `null` keeps calls for the account's life.
    #[serde(default, deserialize_with = "present")]
    transcripts_days: Option<Option<u32>>,
    recordings_days_after_transcription: Option<u32>,
    legal_hold: Option<bool>,
}

/// Tells a field that is present (even as `null`) from one left out.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<u32>>, D::Error> {
    Option::<u32>::deserialize(d).map(Some)
}

/// Changes the workspace's retention (bounded choices); the next reaper run applies it to
/// existing data. Fields left out keep their value.
pub async fn put_retention<P: Ports>(
    State(api): ApiState<P>,
    who: Authenticated,
    StrictJson(body): StrictJson<SetRetention>,
) -> Result<Json<Value>, ApiError> {
    if !who.caller.can_manage_workspace() {
        return Err(ApiError::NotFound);
    }
    if let Some(Some(days)) = body.transcripts_days
        && !CALL_WINDOW_CHOICES.contains(&days)
    {
        return Err(ApiError::BadRequest(format!(
            "transcripts_days: one of {CALL_WINDOW_CHOICES:?} or null"
        )));
    }
    if let Some(days) = body.recordings_days_after_transcription
        && !RECORDING_WINDOW_CHOICES.contains(&days)
    {
        return Err(ApiError::BadRequest(format!(
            "recordings_days_after_transcription: one of {RECORDING_WINDOW_CHOICES:?}"
        )));
    }
    // Applied to the record as stored when written: a concurrent deletion request, billing
    // change or other admin's setting is kept, never overwritten with an older read.
    let tenant = workspace::update_workspace(api.ports.store(), &who.tenant, |tenant| {
        // A deletion (or the reaper) may have come first since this request was let in.
        if tenant.is_closed() {
            return Err(ApiError::Gone);
        }
        if let Some(days) = body.transcripts_days {
            tenant.retention.transcripts_days = days;
            tenant.retention.analyses_days = days;
        }
        if let Some(days) = body.recordings_days_after_transcription {
            tenant.retention.recordings_days_after_transcription = days;
        }
        if let Some(hold) = body.legal_hold {
            tenant.legal_hold = hold;
        }
        Ok(workspace::Change::Write(tenant.clone()))
    })
    .await?;
    Ok(Json(retention_view(&tenant)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestExport {
    scope: ExportScope,
}

/// How long an export's download link works.
pub const EXPORT_LINK_LIFETIME: Duration = Duration::from_secs(15 * 60);

/// `user`: anyone, for their own data, written now and answered with a short-lived download
/// link (201). `workspace`: admins, for every team of the workspace, as a background job: the
/// answer is 202 with the job's status resource, which gives the link once the bundle is
/// ready (a workspace's bundle can take longer than an HTTP request may).
pub async fn create_export<P: Ports>(
    State(api): ApiState<P>,
    who: Authenticated,
    StrictJson(body): StrictJson<RequestExport>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let export_id: ExportId = api.ports.ids().mint();
    let now = api.ports.clock().now();
    match body.scope {
        ExportScope::User => {}
        ExportScope::Workspace if who.caller.can_manage_workspace() => {
            return queue_workspace_export(&api, &who, export_id, now).await;
        }
        ExportScope::Workspace => return Err(ApiError::NotFound),
    }
    let request = ExportRequest {
        tenant: &who.tenant,
        requester: &who.caller.user,
        scope: body.scope,
        teams: who.caller.teams().map(|(team, _)| team.clone()).collect(),
        export_id: &export_id,
        now,
        part_size: EXPORT_PART_SIZE,
    };
    let (key, counts) = write_export(
        api.ports.store(),
        api.ports.blobs(),
        api.ports.envelope(),
        &request,
    )
    .await?;
    let link = download_link(&api, &key, now).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "export_id": export_id,
            "download_url": link.0,
            "expires_at": rfc3339(link.1),
            "counts": counts,
        })),
    ))
}

/// Records a workspace export job and queues it: 202 with the job. A few a day per workspace
/// (each reads all of it, and every workspace's jobs share two runners): past that, 429.
async fn queue_workspace_export<P: Ports>(
    api: &Api<P>,
    who: &Authenticated,
    export_id: ExportId,
    now: OffsetDateTime,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let quotas = who
        .workspace
        .as_ref()
        .and_then(|w| w.quotas)
        .unwrap_or(api.settings.quotas);
    let spend = [(Meter::WorkspaceExports, 1)];
    let receipt =
        match quota::spend_all(api.ports.store(), &who.tenant, &quotas, &spend, now).await? {
            Ok(receipt) => receipt,
            Err((meter, retry_after)) => {
                return Err(ApiError::TooManyRequests {
                    meter: meter.as_str(),
                    retry_after,
                });
            }
        };
    let queued = record_and_queue_export(api, who, export_id, now).await;
    if queued.is_err()
        && let Err(undo) = quota::give_back(api.ports.store(), &who.tenant, receipt).await
    {
        tracing::warn!(error = %undo, "a failed export's quota spend was not given back");
    }
    queued
}

async fn record_and_queue_export<P: Ports>(
    api: &Api<P>,
    who: &Authenticated,
    export_id: ExportId,
    now: OffsetDateTime,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let job = ExportJob::queued(
        who.tenant.clone(),
        export_id,
        who.caller.user.clone(),
        ExportScope::Workspace,
        now,
    );
    api.ports.store().create_export_job(&job).await?;
    let queued = api
        .ports
        .jobs()
        .send(&PipelineMessage::ExportWorkspace {
            tenant_id: who.tenant.clone(),
            export_id: job.export_id.clone(),
        })
        .await;
    if let Err(error) = queued {
        // No job will run: its record says so rather than waiting as queued.
        let mut failed = job;
        failed.state = ExportState::Failed;
        failed.failure = Some(ExportFailure::Export);
        failed.finished_at = Some(now);
        if let Err(store) = api.ports.store().update_export_job(&failed).await {
            tracing::warn!(error = %store, "an unqueued export job stays queued until it expires");
        }
        return Err(ApiError::Internal(Box::new(error)));
    }
    Ok((StatusCode::ACCEPTED, Json(export_job_view(&job, None))))
}

/// A fresh presigned link to an export bundle, and when it stops working.
async fn download_link<P: Ports>(
    api: &Api<P>,
    key: &str,
    now: OffsetDateTime,
) -> Result<(String, OffsetDateTime), ApiError> {
    let link = api
        .ports
        .blobs()
        .presign_get(key, EXPORT_LINK_LIFETIME)
        .await?;
    Ok((link.url, now + EXPORT_LINK_LIFETIME))
}

fn export_job_view(job: &ExportJob, link: Option<(String, OffsetDateTime)>) -> Value {
    let mut view = json!({
        "export_id": job.export_id,
        "scope": job.scope,
        "state": job.state,
        "requested_by": job.requested_by,
        "requested_at": rfc3339(job.requested_at),
        "status_url": format!("/v1/exports/{}", job.export_id),
    });
    if let Some(at) = job.finished_at {
        view["finished_at"] = json!(rfc3339(at));
    }
    if let Some(counts) = &job.counts {
        view["counts"] = json!(counts);
    }
    if let Some(failure) = job.failure {
        view["failure"] = json!(failure);
    }
    if let Some((url, expires_at)) = link {
        view["download_url"] = json!(url);
        view["expires_at"] = json!(rfc3339(expires_at));
    }
    view
}

/// A workspace export job's status: admins of the workspace only (the bundle holds all of
/// it), any of them, since admins are peers. Once ready, each look answers a fresh 15-minute
/// link and writes an audit event (`export.link_issued`: who, which export); after the
/// bundle's lifetime the job is gone (404).
pub async fn get_export<P: Ports>(
    State(api): ApiState<P>,
    who: Authenticated,
    Path(export): Path<String>,
) -> Result<Json<Value>, ApiError> {
    if !who.caller.can_manage_workspace() {
        return Err(ApiError::NotFound);
    }
    let export = ExportId::parse(&export).map_err(|_| ApiError::NotFound)?;
    let now = api.ports.clock().now();
    let job = api
        .ports
        .store()
        .get_export_job(&who.tenant, &export)
        .await?
        .filter(|job| job.expires_at() > now)
        .ok_or(ApiError::NotFound)?;
    let link = match (&job.state, &job.key) {
        (ExportState::Ready, Some(key)) => Some(download_link(&api, key, now).await?),
        _ => None,
    };
    if link.is_some() {
        let event = AuditEvent {
            schema_version: SCHEMA_VERSION,
            event_id: api.ports.ids().mint(),
            tenant_id: who.tenant.clone(),
            actor: Some(who.caller.user.clone()),
            actor_kind: "user".into(),
            action: "export.link_issued".into(),
            object: format!("/v1/exports/{}", job.export_id),
            outcome: Outcome::Success,
            request_id: Some(who.request_id.clone()),
            at: now,
        };
        crate::audit::record(&api, &event).await;
    }
    Ok(Json(export_job_view(&job, link)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrepQuery {
    team_id: String,
    company_domain: String,
}

/// A pre-call card for a company, from the team's past calls the caller may see.
pub async fn prep_card<P: Ports>(
    State(api): ApiState<P>,
    who: Authenticated,
    query: Result<Query<PrepQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<PrepCard>, ApiError> {
    let Query(query) =
        query.map_err(|e| ApiError::BadRequest(format!("query: {}", e.body_text())))?;
    text_field("company_domain", &query.company_domain, 253)?;
    let team = team_id(&query.team_id)?;
    if who.caller.role_in(&team).is_none() {
        return Err(ApiError::NotFound);
    }
    // Newest first; a bounded number of pages, so a card costs a bounded number of reads.
    let mut matching = Vec::new();
    let mut page = PageRequest::first(100).expect("a valid page size");
    for _ in 0..10 {
        let listed = api
            .ports
            .store()
            .list_team_calls(&who.tenant, &team, &page)
            .await?;
        matching.extend(listed.items.into_iter().filter(|c| {
            c.status == CallStatus::Scored
                && who.caller.can_view_call(c)
                && c.company_domain
                    .as_deref()
                    .is_some_and(|d| d.eq_ignore_ascii_case(query.company_domain.trim()))
        }));
        match listed.next {
            Some(next) if matching.len() < PREP_MAX_CALLS => {
                page = PageRequest::new(100, Some(next)).expect("a valid page size");
            }
            _ => break,
        }
    }
    matching.truncate(PREP_MAX_CALLS);
    let mut loaded = Vec::with_capacity(matching.len());
    for call in &matching {
        let analysis = load_analysis(&api, call).await?;
        let transcript = load_transcript(&api, call).await.ok();
        loaded.push((analysis, transcript));
    }
    let past: Vec<PastCall<'_>> = matching
        .iter()
        .zip(&loaded)
        .map(|(call, (analysis, transcript))| PastCall {
            call,
            analysis,
            transcript: transcript.as_ref(),
        })
        .collect();
    let playbook = api
        .ports
        .store()
        .get_playbook(&who.tenant, &team)
        .await?
        .unwrap_or_default();
    Ok(Json(build_prep_card(
        query.company_domain.trim(),
        &past,
        &playbook,
    )))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WritePractice {
    highlight_id: String,
    text: String,
}

fn practice_vault<P: Ports>(api: &Api<P>) -> DocumentVault<'_, P::Store, P::Blobs, P::Envelope> {
    DocumentVault {
        repository: api.ports.store(),
        blobs: api.ports.blobs(),
        envelope: api.ports.envelope(),
    }
}

impl From<PracticeError> for ApiError {
    fn from(e: PracticeError) -> Self {
        match e {
            PracticeError::Document(inner) => ApiError::Internal(Box::new(inner)),
            refused => ApiError::BadRequest(refused.to_string()),
        }
    }
}

/// A rep writes a better answer to a highlight of their call; stored encrypted under the notes
/// key domain, kept with the call (deleted with it, exported with it), by highlight id.
pub async fn write_practice<P: Ports>(
    State(api): ApiState<P>,
    who: Authenticated,
    Path(raw): Path<String>,
    StrictJson(body): StrictJson<WritePractice>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let call = visible_call(&api, &who, &raw).await?;
    if !who.caller.can_practice(&call) {
        return Err(ApiError::NotFound);
    }
    text_field("text", &body.text, 2000)?;
    let analysis = load_analysis(&api, &call).await?;
    let response = practice::add_response(
        &practice_vault(&api),
        &analysis,
        &body.highlight_id,
        &who.caller.user,
        &body.text,
        api.ports.clock().now(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(json!(response))))
}

/// Every practice response of a call, each naming its highlight (answers to highlights of an
/// earlier analysis included); whoever may see the call.
pub async fn list_practice<P: Ports>(
    State(api): ApiState<P>,
    who: Authenticated,
    Path(raw): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let call = visible_call(&api, &who, &raw).await?;
    // A call not scored yet has no highlights to answer: the same answer as before.
    load_analysis(&api, &call).await?;
    let items =
        practice::list_responses(&practice_vault(&api), &call.tenant_id, &call.call_id).await?;
    Ok(Json(json!({ "items": items })))
}

/// A rep marks one of their current micro-goals complete (their own goals only).
pub async fn complete_goal<P: Ports>(
    State(api): ApiState<P>,
    who: Authenticated,
    Path((raw_rep, raw_goal)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let rep = UserId::parse(raw_rep).map_err(|_| ApiError::NotFound)?;
    let goal = GoalId::parse(raw_goal).map_err(|_| ApiError::NotFound)?;
    if rep != who.caller.user {
        return Err(ApiError::NotFound);
    }
    let mut found = false;
    let progress = update_progress(
        api.ports.store(),
        api.ports.envelope(),
        &who.tenant,
        &rep,
        |progress| {
            found = progress.complete_goal(&goal);
            found
        },
    )
    .await?;
    if !found {
        return Err(ApiError::NotFound);
    }
    Ok(Json(json!({
        "current_goals": progress.current_goals,
        "completed_goals": progress.completed_goals,
    })))
}

impl From<DeletionError> for ApiError {
    fn from(e: DeletionError) -> Self {
        match e {
            DeletionError::NotFound => ApiError::NotFound,
            DeletionError::LegalHold => {
                ApiError::Conflict("a legal hold covers data in this scope; lift it first")
            }
            DeletionError::Contended => ApiError::Conflict("a call changed meanwhile; retry"),
            DeletionError::Final => {
                ApiError::Conflict("the grace period is over; the deletion is final")
            }
            DeletionError::LastOwner => {
                ApiError::Conflict("the user is the last owner of a team; name another owner first")
            }
            DeletionError::Store(e) => e.into(),
        }
    }
}

/// `DELETE /v1/users/{user_id}`: the user's calls (cascaded by the reaper), memberships,
/// progress and usage events; what belongs to the team stays (see `usecases::deletion`).
pub async fn delete_user<P: Ports>(
    State(api): ApiState<P>,
    who: Authenticated,
    Path(raw): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let user = UserId::parse(raw).map_err(|_| ApiError::NotFound)?;
    if user == who.caller.user {
        return Err(ApiError::Conflict(
            "you cannot delete yourself; another admin can",
        ));
    }
    if !who.caller.can_delete_user(&user) {
        return Err(ApiError::NotFound);
    }
    let done = deletion::delete_user(
        api.ports.store(),
        &who.tenant,
        &user,
        &who.caller.user,
        api.ports.clock().now(),
    )
    .await?;
    Ok(Json(json!({
        "user_id": user.as_str(),
        "calls_deleted": done.calls,
        "records_deleted": done.records,
    })))
}

/// `DELETE /v1/teams/{team_id}`: the team, its calls (cascaded by the reaper), playbook and
/// memberships. Owners of the team and admins.
pub async fn delete_team<P: Ports>(
    State(api): ApiState<P>,
    who: Authenticated,
    Path(raw): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let team = team_id(&raw)?;
    if !who.caller.can_manage_team(&team) {
        return Err(ApiError::NotFound);
    }
    let done = deletion::delete_team(
        api.ports.store(),
        &who.tenant,
        &team,
        api.ports.clock().now(),
    )
    .await?;
    Ok(Json(json!({
        "team_id": team.as_str(),
        "calls_deleted": done.calls,
        "records_deleted": done.records,
    })))
}

/// `DELETE /v1/workspace`: the first of two steps. The workspace locks at once (410 for
/// everyone) and its data keys are shredded when the grace period ends (the reaper then
/// purges it), unless an admin cancels first; with no grace period they are shredded in this
/// request. Admins only; also while the workspace is cancelled or suspended.
pub async fn delete_workspace<P: Ports>(
    State(api): ApiState<P>,
    who: Authenticated,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    if !who.caller.can_manage_workspace() {
        return Err(ApiError::NotFound);
    }
    let grace = api.settings.deletion_grace;
    let done = deletion::request_workspace_deletion(
        api.ports.store(),
        &who.tenant,
        &who.caller.user,
        api.ports.clock().now(),
        grace,
    )
    .await?;
    let body = match done {
        deletion::WorkspaceDeletion::Pending(pending) => deletion_view(&pending),
        deletion::WorkspaceDeletion::Shredded => json!({"state": "shredded", "grace_hours": 0}),
    };
    Ok((StatusCode::ACCEPTED, Json(body)))
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn deletion_view(pending: &DeletionRequest) -> Value {
    json!({
        "state": "deletion_pending",
        "requested_by": pending.requested_by,
        "requested_at": rfc3339(pending.requested_at),
        "shred_at": rfc3339(pending.shred_at),
        "grace_hours": (pending.shred_at - pending.requested_at).whole_hours(),
    })
}

/// `GET /v1/workspace/deletion`: the pending deletion (admins; 404 when none is pending).
pub async fn workspace_deletion<P: Ports>(
    State(api): ApiState<P>,
    who: Authenticated,
) -> Result<Json<Value>, ApiError> {
    if !who.caller.can_manage_workspace() {
        return Err(ApiError::NotFound);
    }
    let pending = workspace(&api, &who).await?.deletion;
    pending
        .as_ref()
        .map(|p| Json(deletion_view(p)))
        .ok_or(ApiError::NotFound)
}

/// `DELETE /v1/workspace/deletion`: an admin cancels a pending deletion before its grace
/// period ends (409 after); the workspace is served again as it was.
pub async fn cancel_workspace_deletion<P: Ports>(
    State(api): ApiState<P>,
    who: Authenticated,
) -> Result<StatusCode, ApiError> {
    if !who.caller.can_manage_workspace() {
        return Err(ApiError::NotFound);
    }
    deletion::cancel_workspace_deletion(api.ports.store(), &who.tenant, api.ports.clock().now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/workspace/admins`: the workspace's admins (admins only).
pub async fn list_admins<P: Ports>(
    State(api): ApiState<P>,
    who: Authenticated,
) -> Result<Json<Value>, ApiError> {
    if !who.caller.can_manage_workspace() {
        return Err(ApiError::NotFound);
    }
    let admins = api.ports.store().admins(&who.tenant).await?;
    let items: Vec<Value> = admins.iter().map(|a| json!({"user_id": a})).collect();
    Ok(Json(json!({ "items": items })))
}

/// `PUT /v1/workspace/admins/{user_id}`: makes a user an admin (admins only; idempotent).
pub async fn put_admin<P: Ports>(
    State(api): ApiState<P>,
    who: Authenticated,
    Path(raw): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let user = UserId::parse(raw).map_err(|_| ApiError::NotFound)?;
    if !who.caller.can_manage_workspace() {
        return Err(ApiError::NotFound);
    }
    let added =
        workspace::add_admin(api.ports.store(), &who.tenant, &who.caller.user, &user).await?;
    Ok(Json(
        json!({"user_id": user, "admin": true, "added": added}),
    ))
}

/// `DELETE /v1/workspace/admins/{user_id}`: takes a user's admin role away, yourself
/// included; the last admin cannot leave (409).
pub async fn remove_admin<P: Ports>(
    State(api): ApiState<P>,
    who: Authenticated,
    Path(raw): Path<String>,
) -> Result<StatusCode, ApiError> {
    let user = UserId::parse(raw).map_err(|_| ApiError::NotFound)?;
    if !who.caller.can_manage_workspace() {
        return Err(ApiError::NotFound);
    }
    workspace::remove_admin(api.ports.store(), &who.tenant, &who.caller.user, &user).await?;
    Ok(StatusCode::NO_CONTENT)
}

impl From<WorkspaceError> for ApiError {
    fn from(e: WorkspaceError) -> Self {
        match e {
            WorkspaceError::NotAdmin => ApiError::NotFound,
            WorkspaceError::LastAdmin => {
                ApiError::Conflict("a workspace needs at least one admin; name another first")
            }
            WorkspaceError::Closed => ApiError::Gone,
            // Provisioning is not an API route; an admin route cannot meet it.
            WorkspaceError::AlreadyProvisioned => {
                ApiError::Conflict("the workspace exists already")
            }
            WorkspaceError::Store(e) => e.into(),
        }
    }
}
