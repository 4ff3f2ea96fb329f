//! Changes to a call: its rep speaker, a re-score, its legal hold, its deletion.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use callcoach_shared::access::Caller;
use callcoach_shared::ports::Clock;
use callcoach_shared::usecases::call_changes;
use callcoach_shared::usecases::export::Withdrawal;
use serde::Deserialize;
use serde_json::{Value, json};

use super::calls::{call_where, shown};
use super::{ApiState, vault};
use crate::Ports;
use crate::error::ApiError;
use crate::extract::{Authenticated, StrictJson};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetRepSpeaker {
    speaker: String,
}

/// `PUT /v1/calls/{call_id}/rep-speaker`: sets which transcript speaker is the rep and
/// re-scores, without re-transcribing. Managers and owners of the call's team only (see
/// [`Caller::can_set_rep_speaker`](callcoach_shared::access::Caller::can_set_rep_speaker)).
pub async fn set_rep_speaker<P: Ports>(
    State(api): ApiState<P>,
    who: Authenticated,
    Path(raw): Path<String>,
    StrictJson(body): StrictJson<SetRepSpeaker>,
) -> Result<Json<Value>, ApiError> {
    let mut call = call_where(&api, &who, &raw, Caller::can_set_rep_speaker).await?;
    let rescoring = call_changes::set_rep_speaker(
        &vault(&api),
        api.ports.queue(),
        &mut call,
        &body.speaker,
        api.ports.clock().now(),
    )
    .await?;
    Ok(Json(
        json!({"call": shown(&api, &call).await?, "rescoring": rescoring}),
    ))
}

/// `POST /v1/calls/{call_id}/rescore`: scores the call's current transcript again, as a
/// request of its own (after a playbook change, say): the same callers as [`set_rep_speaker`].
/// 202 with the call; 409 while the call has no transcript to score.
pub async fn rescore_call<P: Ports>(
    State(api): ApiState<P>,
    who: Authenticated,
    Path(raw): Path<String>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let mut call = call_where(&api, &who, &raw, Caller::can_rescore).await?;
    let now = api.ports.clock().now();
    let rescoring =
        call_changes::rescore(api.ports.store(), api.ports.queue(), &mut call, now).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"call": shown(&api, &call).await?, "rescoring": rescoring})),
    ))
}

/// `DELETE /v1/calls/{call_id}`: at once the call answers 404 everywhere and leaves every
/// listing; the reaper's next run (hourly) purges its transcript, analysis, uploads and items.
/// Whoever may change the call may delete it.
pub async fn delete_call<P: Ports>(
    State(api): ApiState<P>,
    who: Authenticated,
    Path(raw): Path<String>,
) -> Result<StatusCode, ApiError> {
    let mut call = call_where(&api, &who, &raw, Caller::can_change_call).await?;
    let now = api.ports.clock().now();
    // First: a retry after a failure here finds the call still there.
    let rep = call.rep_id.clone();
    let deleted = call_changes::delete_call(
        api.ports.store(),
        api.ports.envelope(),
        &mut call,
        &who.caller.user,
        now,
    );
    super::exports::withdrawn_around(&api, &who.tenant, Withdrawal::Of(&rep), deleted).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetLegalHold {
    legal_hold: bool,
}

/// `PUT /v1/calls/{call_id}/legal-hold`: a legal hold on one call stops its deletion by
/// retention; owners of its team only.
pub async fn set_legal_hold<P: Ports>(
    State(api): ApiState<P>,
    who: Authenticated,
    Path(raw): Path<String>,
    StrictJson(body): StrictJson<SetLegalHold>,
) -> Result<Json<Value>, ApiError> {
    let mut call = call_where(&api, &who, &raw, |caller, call| {
        caller.can_administer(&call.team_id)
    })
    .await?;
    let now = api.ports.clock().now();
    call_changes::set_legal_hold(api.ports.store(), &mut call, body.legal_hold, now).await?;
    Ok(Json(
        json!({"call": shown(&api, &call).await?, "legal_hold": call.legal_hold}),
    ))
}
