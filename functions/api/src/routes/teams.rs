//! Teams: creating and deleting them, and their playbooks.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use callcoach_shared::domain::org::{Membership, Team};
use callcoach_shared::domain::playbook::Playbook;
use callcoach_shared::ids::{TeamId, UserId};
use callcoach_shared::ports::Clock;
use callcoach_shared::usecases::export::Withdrawal;
use callcoach_shared::usecases::playbooks::{load_playbook, save_playbook};
use callcoach_shared::usecases::{deletion, teams};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::{ApiState, team_id, text_field, user_field};
use crate::Ports;
use crate::error::ApiError;
use crate::extract::{Authenticated, StrictJson};

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

fn team_view<'a>(team: &'a Team, name: &'a str, owner: &'a Membership) -> TeamView<'a> {
    TeamView {
        team_id: &team.team_id,
        name,
        owner_id: &owner.user_id,
        created_at: team.created_at,
    }
}

/// `POST /v1/teams`: admins create a team with its first owner.
pub async fn create_team<P: Ports>(
    State(api): ApiState<P>,
    who: Authenticated,
    StrictJson(body): StrictJson<CreateTeam>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    if !who.caller.can_manage_workspace() {
        return Err(ApiError::NotFound);
    }
    text_field("name", &body.name, 100)?;
    let owner = match &body.owner_id {
        Some(raw) => user_field("owner_id", raw)?,
        None => who.caller.user.clone(),
    };
    let name = body.name.trim();
    let (team, owner) = teams::create_team(
        api.ports.store(),
        api.ports.envelope(),
        api.ports.clock(),
        api.ports.ids(),
        &who.tenant,
        name,
        owner,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!(team_view(&team, name, &owner))),
    ))
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
    // A team's calls have many reps: every user's own bundles go with the workspace's.
    let deleted = deletion::delete_team(
        api.ports.store(),
        &who.tenant,
        &team,
        &who.caller.user,
        api.ports.clock().now(),
    );
    let done =
        super::exports::withdrawn_around(&api, &who.tenant, Withdrawal::EveryUser, deleted).await?;
    Ok(Json(json!({
        "team_id": team.as_str(),
        "calls_deleted": done.calls,
        "records_deleted": done.records,
        "receipt_id": done.receipt,
    })))
}

/// The team's playbook (empty until an owner sets one): any member may read it.
pub async fn get_playbook<P: Ports>(
    State(api): ApiState<P>,
    who: Authenticated,
    Path(team): Path<String>,
) -> Result<Json<Playbook>, ApiError> {
    let team = team_id(&team)?;
    if !who.caller.is_member(&team) {
        return Err(ApiError::NotFound);
    }
    Ok(Json(
        load_playbook(api.ports.store(), api.ports.envelope(), &who.tenant, &team)
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
    save_playbook(
        api.ports.store(),
        api.ports.envelope(),
        &who.tenant,
        &team,
        &playbook,
    )
    .await?;
    Ok(Json(playbook))
}
