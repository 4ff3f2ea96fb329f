//! A rep's progress.

use axum::Json;
use axum::extract::{Path, State};
use callcoach_shared::ports::TeamRepository;
use callcoach_shared::usecases::progress::progress_in_scope;
use serde_json::{Value, json};

use super::{ApiState, user_id};
use crate::Ports;
use crate::error::ApiError;
use crate::extract::Authenticated;

/// `GET /v1/reps/{user_id}/progress`: a rep's progress: recent calls, rolling averages (last 5
/// and all kept calls), micro-goal results, and the goals for the next call. The rep sees all
/// of it; their managers and owners the calls of the teams they manage.
pub async fn rep_progress<P: Ports>(
    State(api): ApiState<P>,
    who: Authenticated,
    Path(raw): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let rep = user_id(raw)?;
    let rep_memberships = api
        .ports
        .store()
        .memberships_of_user(&who.tenant, &rep)
        .await?;
    let Some(scope) = who.caller.rep_progress_scope(&rep, &rep_memberships) else {
        return Err(ApiError::NotFound);
    };
    let progress = progress_in_scope(
        api.ports.store(),
        api.ports.envelope(),
        &who.tenant,
        &rep,
        &scope,
    )
    .await?;
    Ok(Json(json!({
        "rep_id": rep,
        "averages": {"last_5_calls": progress.averages(5), "all_kept_calls": progress.averages(usize::MAX)},
        "calls": progress.entries,
        "current_goals": progress.current_goals,
        "completed_goals": progress.completed_goals,
    })))
}
