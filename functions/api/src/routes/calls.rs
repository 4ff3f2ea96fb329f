//! Calls: creating one with its upload, listing a team's, reading one.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use callcoach_shared::access::{CallListing, Caller};
use callcoach_shared::domain::analysis::Analysis;
use callcoach_shared::domain::call::{Call, CallStatus, CallType, SealedDetails};
use callcoach_shared::domain::usage::{UsageEvent, UsageView};
use callcoach_shared::ids::{CallId, TeamId, UserId};
use callcoach_shared::keys::is_upload_file_name;
use callcoach_shared::ports::{
    CallRepository, Clock, DocumentKind, DocumentRepository, PageRequest, UsageLog,
};
use callcoach_shared::usecases::call_details::{CallDetails, open_details};
use callcoach_shared::usecases::call_listing::{self, CallFilter};
use callcoach_shared::usecases::calls::NewCall;
use callcoach_shared::usecases::new_call::{
    CallRequest, UPLOAD_CONTENT_TYPES, UPLOAD_URL_TTL, Upload, create_call_with_upload,
    upload_limit,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::{ApiState, DEFAULT_PAGE_SIZE, call_id, quotas, team_id, text_field, user_field, vault};
use crate::error::ApiError;
use crate::extract::{Authenticated, StrictJson, StrictQuery};
use crate::{Api, Ports, cursors};

/// The client's view of `call`, its details opened.
pub async fn shown<P: Ports>(api: &Api<P>, call: &Call) -> Result<Value, ApiError> {
    let details = open_details(api.ports.envelope(), call).await?;
    Ok(json!(call_view(call, &details)))
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

pub fn call_view<'a>(call: &'a Call, details: &'a CallDetails) -> CallView<'a> {
    CallView {
        call_id: &call.call_id,
        team_id: &call.team_id,
        rep_id: &call.rep_id,
        title: &details.title,
        call_type: call.call_type,
        company_domain: details.company_domain.as_deref(),
        buyer_persona: details.buyer_persona.as_deref(),
        status: call.status,
        failure_reason: call.failure_reason.as_deref(),
        rep_speaker: details.rep_speaker.as_deref(),
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

impl CreateCall {
    /// The body's own checks, before anything is read: 400 naming the first field at fault.
    fn validate(&self) -> Result<(), ApiError> {
        text_field("title", &self.title, 200)?;
        text_field("file_name", &self.file_name, 200)?;
        if !is_upload_file_name(&self.file_name) {
            return Err(ApiError::BadRequest(
                "file_name: must not contain '/' or be '.' or '..'".into(),
            ));
        }
        for (name, value) in [
            ("company_domain", &self.company_domain),
            ("buyer_persona", &self.buyer_persona),
        ] {
            if let Some(value) = value {
                text_field(name, value, 200)?;
            }
        }
        let Some(limit) = upload_limit(&self.content_type) else {
            return Err(ApiError::BadRequest(format!(
                "content_type: must be one of {}",
                UPLOAD_CONTENT_TYPES.join(", ")
            )));
        };
        if self.content_length == 0 || self.content_length > limit {
            return Err(ApiError::BadRequest(format!(
                "content_length: must be 1 to {limit} bytes for this content type"
            )));
        }
        Ok(())
    }
}

/// `POST /v1/calls`: the call, awaiting its upload, and the presigned request that uploads it.
pub async fn create_call<P: Ports>(
    State(api): ApiState<P>,
    who: Authenticated,
    StrictJson(body): StrictJson<CreateCall>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    body.validate()?;
    let team = team_id(&body.team_id)?;
    let rep = match &body.rep_id {
        Some(raw) => user_field("rep_id", raw)?,
        None => who.caller.user.clone(),
    };
    let details = CallDetails {
        title: body.title.trim().to_owned(),
        company_domain: body.company_domain,
        buyer_persona: body.buyer_persona,
        rep_speaker: None,
    };
    let request = CallRequest {
        tenant: &who.tenant,
        caller: &who.caller,
        quotas: quotas(&api, &who),
        call: NewCall {
            team_id: team,
            rep_id: rep,
            call_type: body.call_type,
            details: SealedDetails::default(),
        },
        details: details.clone(),
        upload: Upload {
            file_name: body.file_name,
            content_type: body.content_type,
            content_length: body.content_length,
        },
    };
    let created = create_call_with_upload(
        api.ports.store(),
        api.ports.blobs(),
        api.ports.envelope(),
        api.ports.clock(),
        api.ports.ids(),
        request,
    )
    .await?;
    let upload = &created.upload;
    let headers: serde_json::Map<String, Value> = upload
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "call": call_view(&created.call, &details),
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

/// `GET /v1/calls?team_id=`: a page of the team's calls the caller may list, newest first.
pub async fn list_calls<P: Ports>(
    State(api): ApiState<P>,
    who: Authenticated,
    StrictQuery(query): StrictQuery<ListCalls>,
) -> Result<Json<Value>, ApiError> {
    let team = team_id(&query.team_id)?;
    let rep = match who.caller.call_listing(&team).ok_or(ApiError::NotFound)? {
        CallListing::OwnCalls => Some(who.caller.user.clone()),
        CallListing::Team => query
            .rep_id
            .as_deref()
            .map(|raw| user_field("rep_id", raw))
            .transpose()?,
    };
    // A cursor pages the one listing it was sealed for: the team's, or one rep's in it.
    let listing = match &rep {
        Some(rep) => format!("calls/{team}/rep/{rep}"),
        None => format!("calls/{team}"),
    };
    let envelope = api.ports.envelope();
    let cursor = cursors::open(envelope, &who.tenant, &listing, query.cursor.as_deref()).await?;
    let page = PageRequest::new(query.limit.unwrap_or(DEFAULT_PAGE_SIZE), cursor)
        .map_err(|e| ApiError::BadRequest(format!("limit: {e}")))?;
    let filter = CallFilter {
        rep,
        named_rep: query.rep_id,
        call_type: query.call_type,
        status: query.status,
        company_domain: query.company_domain,
        from: time_filter("from", &query.from)?,
        to: time_filter("to", &query.to)?,
    };
    let listed = call_listing::list_calls(
        api.ports.store(),
        envelope,
        &who.tenant,
        &team,
        &filter,
        &page,
    )
    .await?;
    let items: Vec<Value> = listed
        .items
        .iter()
        .map(|(call, details)| json!(call_view(call, details)))
        .collect();
    let next = cursors::seal(envelope, &who.tenant, &listing, listed.next.as_ref()).await?;
    Ok(Json(json!({"items": items, "next_cursor": next})))
}

/// The call, if it exists and the caller may see it; otherwise the one 404.
pub(super) async fn visible_call<P: Ports>(
    api: &Api<P>,
    who: &Authenticated,
    raw: &str,
) -> Result<Call, ApiError> {
    let id = call_id(raw)?;
    let call = api.ports.store().get_call(&who.tenant, &id).await?;
    visible(who, call)
}

/// As [`visible_call`], with the call's current document of `kind` (`None` while it has
/// none). The call and its newest document of that kind are read together, one round trip
/// instead of two; the document is opened only once the call is known to be the caller's to
/// see, and a call they may not see costs no more than one they may.
pub(super) async fn visible_call_with<P: Ports, T: DeserializeOwned>(
    api: &Api<P>,
    who: &Authenticated,
    raw: &str,
    kind: DocumentKind,
) -> Result<(Call, Option<T>), ApiError> {
    let id = call_id(raw)?;
    let store = api.ports.store();
    let (call, newest) = tokio::try_join!(
        store.get_call(&who.tenant, &id),
        store.newest_document(&who.tenant, &id, kind)
    )?;
    let call = visible(who, call)?;
    let document = vault(api).current_given_newest(&call, kind, newest).await?;
    Ok((call, document))
}

/// The call when the caller may see it; the one 404 for a missing, deleted or unseen call.
fn visible(who: &Authenticated, call: Option<Call>) -> Result<Call, ApiError> {
    match call {
        Some(call) if call.status != CallStatus::Deleted && who.caller.can_view_call(&call) => {
            Ok(call)
        }
        _ => Err(ApiError::NotFound),
    }
}

/// The call the path names when the caller may see it and `may` holds for them: 404 otherwise,
/// the same answer as for a call that does not exist.
pub(super) async fn call_where<P: Ports>(
    api: &Api<P>,
    who: &Authenticated,
    raw: &str,
    may: impl FnOnce(&Caller, &Call) -> bool,
) -> Result<Call, ApiError> {
    let call = visible_call(api, who, raw).await?;
    if may(&who.caller, &call) {
        Ok(call)
    } else {
        Err(ApiError::NotFound)
    }
}

/// Records that the caller viewed the call (usage, kept 13 months). A failure to record never
/// fails the read: it is logged and counted instead.
pub(super) async fn record_view<P: Ports>(
    api: &Api<P>,
    who: &Authenticated,
    call: &Call,
    view: UsageView,
) {
    let event = UsageEvent {
        tenant_id: who.tenant.clone(),
        user_id: who.caller.user.clone(),
        call_id: call.call_id.clone(),
        view,
        at: api.ports.clock().now(),
    };
    if let Err(error) = api.ports.store().record_view(&event).await {
        tracing::warn!(error = %callcoach_shared::telemetry::Chain(&error), "usage event not recorded");
        callcoach_shared::telemetry::emit_count("api", "UsageWriteFailed", 1);
    }
}

/// `GET /v1/calls/{call_id}`: the call, with its scores once scored.
pub async fn get_call<P: Ports>(
    State(api): ApiState<P>,
    who: Authenticated,
    Path(raw): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let (call, analysis) =
        visible_call_with::<P, Analysis>(&api, &who, &raw, DocumentKind::Analysis).await?;
    record_view(&api, &who, &call, UsageView::Call).await;
    let mut body = json!({ "call": shown(&api, &call).await? });
    if call.status == CallStatus::Scored {
        let analysis = analysis.ok_or(ApiError::NotFound)?;
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
