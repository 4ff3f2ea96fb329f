//! People: a team's members and their roles, and deleting a user.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use callcoach_shared::domain::org::{Membership, Role};
use callcoach_shared::ports::{Clock, TeamRepository};
use callcoach_shared::usecases::export::Withdrawal;
use callcoach_shared::usecases::{deletion, teams};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiState, team_id, user_id};
use crate::Ports;
use crate::error::ApiError;
use crate::extract::{Authenticated, StrictJson};

fn member_view(m: &Membership) -> Value {
    json!({"user_id": m.user_id, "role": m.role})
}

/// `GET /v1/teams/{team_id}/members`: the team's managers and owners, and admins.
pub async fn list_members<P: Ports>(
    State(api): ApiState<P>,
    who: Authenticated,
    Path(team): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let team = team_id(&team)?;
    if !who.caller.can_view_members(&team) {
        return Err(ApiError::NotFound);
    }
    let members = api
        .ports
        .store()
        .members_of_team(&who.tenant, &team)
        .await?;
    let items: Vec<Value> = members.iter().map(member_view).collect();
    Ok(Json(json!({ "items": items })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PutMember {
    role: Role,
}

/// `PUT /v1/teams/{team_id}/members/{user_id}`: adds a member or changes their role (owners
/// of the team and admins); the last owner cannot step down (409).
pub async fn put_member<P: Ports>(
    State(api): ApiState<P>,
    who: Authenticated,
    Path((team, user)): Path<(String, String)>,
    StrictJson(body): StrictJson<PutMember>,
) -> Result<Json<Value>, ApiError> {
    let team = team_id(&team)?;
    let user = user_id(user)?;
    if !who.caller.can_manage_team(&team) {
        return Err(ApiError::NotFound);
    }
    let membership = Membership {
        tenant_id: who.tenant.clone(),
        team_id: team,
        user_id: user,
        role: body.role,
    };
    teams::put_member(api.ports.store(), &membership).await?;
    Ok(Json(member_view(&membership)))
}

/// `DELETE /v1/teams/{team_id}/members/{user_id}`: takes a member out of the team (owners of
/// the team and admins); the last owner cannot leave (409).
pub async fn remove_member<P: Ports>(
    State(api): ApiState<P>,
    who: Authenticated,
    Path((team, user)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let team = team_id(&team)?;
    let user = user_id(user)?;
    if !who.caller.can_manage_team(&team) {
        return Err(ApiError::NotFound);
    }
    teams::remove_member(api.ports.store(), &who.tenant, &team, &user).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /v1/users/{user_id}`: the user's calls (cascaded by the reaper), memberships,
/// progress and usage events; what belongs to the team stays (see `usecases::deletion`).
pub async fn delete_user<P: Ports>(
    State(api): ApiState<P>,
    who: Authenticated,
    Path(raw): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let user = user_id(raw)?;
    if user == who.caller.user {
        return Err(ApiError::Conflict(
            "you cannot delete yourself; another admin can",
        ));
    }
    if !who.caller.can_delete_user(&user) {
        return Err(ApiError::NotFound);
    }
    let deleted = deletion::delete_user(
        api.ports.store(),
        &who.tenant,
        &user,
        &who.caller.user,
        api.ports.clock().now(),
    );
    let done =
        super::exports::withdrawn_around(&api, &who.tenant, Withdrawal::Of(&user), deleted).await?;
    Ok(Json(json!({
        "user_id": user.as_str(),
        "calls_deleted": done.calls,
        "records_deleted": done.records,
        "receipt_id": done.receipt,
    })))
}
