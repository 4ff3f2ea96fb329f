//! Getting better: pre-call prep cards, practice answers to a call's highlights, micro-goals.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use callcoach_shared::access::Caller;
use callcoach_shared::ids::GoalId;
use callcoach_shared::ports::{Clock, DocumentKind};
use callcoach_shared::usecases::prep::{PrepCard, card_for};
use callcoach_shared::usecases::{practice, progress};
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::{Value, json};

use super::call_documents::load_analysis;
use super::calls::{call_where, visible_call_with};
use super::{ApiState, team_id, text_field, user_id, vault};
use crate::Ports;
use crate::error::ApiError;
use crate::extract::{Authenticated, StrictJson, StrictQuery};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrepQuery {
    team_id: String,
    company_domain: String,
}

/// `GET /v1/prep-cards?team_id=&company_domain=`: a pre-call card for a company, from the
/// team's past calls the caller may see; members of the team.
pub async fn prep_card<P: Ports>(
    State(api): ApiState<P>,
    who: Authenticated,
    StrictQuery(query): StrictQuery<PrepQuery>,
) -> Result<Json<PrepCard>, ApiError> {
    text_field("company_domain", &query.company_domain, 253)?;
    let team = team_id(&query.team_id)?;
    if !who.caller.is_member(&team) {
        return Err(ApiError::NotFound);
    }
    let card = card_for(
        &vault(&api),
        &who.caller,
        &who.tenant,
        &team,
        query.company_domain.trim(),
    )
    .await?;
    Ok(Json(card))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WritePractice {
    highlight_id: String,
    text: String,
}

/// `POST /v1/calls/{call_id}/practice`: a rep writes a better answer to a highlight of their
/// call; stored encrypted under the notes key domain, kept with the call (deleted with it,
/// exported with it), by highlight id.
pub async fn write_practice<P: Ports>(
    State(api): ApiState<P>,
    who: Authenticated,
    Path(raw): Path<String>,
    StrictJson(body): StrictJson<WritePractice>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let call = call_where(&api, &who, &raw, Caller::can_practice).await?;
    text_field("text", &body.text, 2000)?;
    let analysis = load_analysis(&api, &call).await?;
    let response = practice::add_response(
        &vault(&api),
        &analysis,
        &body.highlight_id,
        &who.caller.user,
        &body.text,
        api.ports.clock().now(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(json!(response))))
}

/// `GET /v1/calls/{call_id}/practice`: every practice response of a call, each naming its
/// highlight (answers to highlights of an earlier analysis included); whoever may see the call.
pub async fn list_practice<P: Ports>(
    State(api): ApiState<P>,
    who: Authenticated,
    Path(raw): Path<String>,
) -> Result<Json<Value>, ApiError> {
    // A call not scored yet has no highlights to answer: the same answer as before.
    let (call, analysis) =
        visible_call_with::<P, IgnoredAny>(&api, &who, &raw, DocumentKind::Analysis).await?;
    analysis.ok_or(ApiError::NotFound)?;
    let items = practice::list_responses(&vault(&api), &call.tenant_id, &call.call_id).await?;
    Ok(Json(json!({ "items": items })))
}

/// `POST /v1/reps/{user_id}/goals/{goal_id}/complete`: a rep marks one of their current
/// micro-goals complete (their own goals only).
pub async fn complete_goal<P: Ports>(
    State(api): ApiState<P>,
    who: Authenticated,
    Path((raw_rep, raw_goal)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let rep = user_id(raw_rep)?;
    let goal = GoalId::parse(raw_goal).map_err(|_| ApiError::NotFound)?;
    if !who.caller.can_complete_goals_of(&rep) {
        return Err(ApiError::NotFound);
    }
    let progress = progress::complete_goal(
        api.ports.store(),
        api.ports.envelope(),
        &who.tenant,
        &rep,
        &goal,
    )
    .await?
    .ok_or(ApiError::NotFound)?;
    Ok(Json(json!({
        "current_goals": progress.current_goals,
        "completed_goals": progress.completed_goals,
    })))
}
