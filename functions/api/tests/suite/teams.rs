//! Teams, members, playbooks and admins.

use super::*;

pub async fn teams_members_and_calls_happy_paths_and_role_limits<B: Backend>() {
    let w = world::<B>().await;
    let (status, body) = as_user(
        &w,
        &w.a,
        "admin",
        "POST",
        "/v1/teams",
        Some(json!({"name": "North", "owner_id": "founder"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let created: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(created["owner_id"], "founder");
    let team = created["team_id"].as_str().unwrap().to_owned();
    let members = format!("/v1/teams/{team}/members");
    // (acting user, member, new role, expected): only the owner administers, and the last
    // owner cannot step down.
    for (actor, member, role, expected) in [
        ("founder", "sam", "rep", StatusCode::OK),
        ("founder", "mia", "manager", StatusCode::OK),
        ("mia", "sam", "owner", StatusCode::NOT_FOUND),
        ("founder", "founder", "rep", StatusCode::CONFLICT),
        // Admins manage any team's members, but not past its last owner.
        ("admin", "founder", "manager", StatusCode::CONFLICT),
        ("admin", "lee", "rep", StatusCode::OK),
    ] {
        let (status, body) = as_user(
            &w,
            &w.a,
            actor,
            "PUT",
            &format!("{members}/{member}"),
            Some(json!({ "role": role })),
        )
        .await;
        assert_eq!(status, expected, "{actor} sets {member} to {role}: {body}");
    }
    let (status, body) = as_user(&w, &w.a, "mia", "GET", &members, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["items"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    assert_eq!(
        as_user(&w, &w.a, "admin", "DELETE", &format!("{members}/lee"), None)
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        as_user(&w, &w.a, "sam", "GET", &members, None).await.0,
        StatusCode::NOT_FOUND
    );

    let new_call = |rep: Option<&str>| json!({"team_id": team, "title": "Intro", "call_type": "discovery", "rep_id": rep, "file_name": "intro.vtt", "content_type": "text/vtt", "content_length": 1234});
    let (status, body) = as_user(&w, &w.a, "sam", "POST", "/v1/calls", Some(new_call(None))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let created: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(created["call"]["status"], "awaiting_upload");
    assert_eq!(created["upload"]["method"], "PUT");
    assert_eq!(created["upload"]["headers"]["content-type"], "text/vtt");
    assert_eq!(created["upload"]["headers"]["content-length"], "1234");
    assert_eq!(
        as_user(
            &w,
            &w.a,
            "sam",
            "POST",
            "/v1/calls",
            Some(new_call(Some("mia")))
        )
        .await
        .0,
        StatusCode::NOT_FOUND,
        "a rep creates only their own calls"
    );
    assert_eq!(
        as_user(
            &w,
            &w.a,
            "mia",
            "POST",
            "/v1/calls",
            Some(new_call(Some("sam")))
        )
        .await
        .0,
        StatusCode::CREATED
    );
    assert_eq!(
        as_user(
            &w,
            &w.a,
            "mia",
            "POST",
            "/v1/calls",
            Some(new_call(Some("r3")))
        )
        .await
        .0,
        StatusCode::NOT_FOUND,
        "not a member of this team"
    );
    let mut bad = new_call(None);
    bad["content_type"] = json!("application/x-msdownload");
    let (status, body) = as_user(&w, &w.a, "sam", "POST", "/v1/calls", Some(bad)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("content_type"));
}

pub async fn owners_set_the_team_playbook_members_read_it<B: Backend>() {
    let w = world::<B>().await;
    let path = format!("/v1/teams/{}/playbook", w.west);
    let playbook = json!({
        "value_propositions": ["Cut ramp time for new hires"],
        "objection_handling": [{"objection": "price", "response": "Anchor on the cost of manual notes."}],
        "trackers": [{"name": "competitors", "phrases": ["gong", "chorus"]}]
    });
    let (status, body) = as_user(&w, &w.a, "owner", "PUT", &path, Some(playbook.clone())).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for who in ["r1", "manager", "owner"] {
        let (status, body) = as_user(&w, &w.a, who, "GET", &path, None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            serde_json::from_str::<Value>(&body).unwrap()["trackers"][0]["name"],
            "competitors"
        );
    }
    for (tenant, who) in [(&w.a, "manager"), (&w.a, "r1"), (&w.a, "owner-east")] {
        let (status, text) = as_user(&w, tenant, who, "PUT", &path, Some(json!({}))).await;
        assert_eq!(
            (status, text.as_str()),
            (StatusCode::NOT_FOUND, NOT_FOUND_BODY),
            "{who} may not set it"
        );
    }
    let (status, _) = as_user(&w, &w.a, "owner-east", "GET", &path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = as_user(&w, &w.b, "owner-b", "GET", &path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let too_many = json!({"value_propositions": vec!["x"; 51]});
    let (status, body) = as_user(&w, &w.a, "owner", "PUT", &path, Some(too_many)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("value_propositions"), "{body}");
    let (status, body) = as_user(
        &w,
        &w.a,
        "owner",
        "PUT",
        &path,
        Some(json!({"trackers": [{"name": "a", "phrases": ["b"], "weight": 2}]})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("unknown field `weight`"), "{body}");
}

/// P6 through the API: users, teams and the workspace are deleted by those who administer
/// them, and by no one else (the same 404); a legal hold refuses the deletion; what is deleted
/// answers 404 at once. The workspace goes in two steps: an admin asks, it answers 410 to
/// everyone at once, an admin may cancel during the grace period, and its keys are shredded
/// when the grace period ends; other tenants carry on.
pub async fn users_teams_and_workspaces_are_deleted_by_those_who_administer_them<B: Backend>() {
    use callcoach_shared::crypto::{DataCategory, DataKeyStore};
    let w = world::<B>().await;
    let not_found = (StatusCode::NOT_FOUND, NOT_FOUND_BODY.to_owned());
    let delete = |tenant: &TenantId, who: &str, path: String| {
        let (tenant, who) = (tenant.clone(), who.to_owned());
        let w = &w;
        async move { as_user(w, &tenant, &who, "DELETE", &path, None).await }
    };
    let r2 = "/v1/users/r2".to_owned();
    // Deleting a user is the admins' alone: not a manager, not the team's own owner, not
    // another team's owner or another tenant's admin. The one 404.
    assert_eq!(delete(&w.a, "manager", r2.clone()).await, not_found);
    assert_eq!(delete(&w.a, "owner", r2.clone()).await, not_found);
    assert_eq!(delete(&w.a, "owner-east", r2.clone()).await, not_found);
    assert_eq!(delete(&w.b, "admin-b", r2.clone()).await, not_found);
    assert_eq!(
        delete(&w.a, "admin", "/v1/users/nobody".into()).await,
        not_found
    );
    assert_eq!(
        delete(&w.a, "owner", "/v1/users/admin".into()).await,
        not_found
    );
    let (status, _) = delete(&w.a, "admin", "/v1/users/admin".into()).await;
    assert_eq!(status, StatusCode::CONFLICT, "no one deletes themselves");
    // A team owner who adds someone to their team still cannot delete them (their calls in
    // other teams would go with them): r3's call in east stays.
    let (status, _) = as_user(
        &w,
        &w.a,
        "owner",
        "PUT",
        &format!("/v1/teams/{}/members/r3", w.west),
        Some(json!({"role": "rep"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        delete(&w.a, "owner", "/v1/users/r3".into()).await,
        not_found
    );
    let (status, _) = as_user(
        &w,
        &w.a,
        "owner-east",
        "GET",
        &format!("/v1/calls/{}", w.c3),
        None,
    )
    .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "r3's call in another team is untouched"
    );
    // The last owner of a team is not deleted out from under it.
    let (status, body) = delete(&w.a, "admin", "/v1/users/owner-east".into()).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    let (status, body) = delete(&w.a, "admin", r2.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["calls_deleted"], 1);
    let c2 = format!("/v1/calls/{}", w.c2);
    let (status, _) = as_user(&w, &w.a, "owner", "GET", &c2, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "r2's call is gone at once");
    let (_, members) = as_user(
        &w,
        &w.a,
        "owner",
        "GET",
        &format!("/v1/teams/{}/members", w.west),
        None,
    )
    .await;
    assert!(
        !members.contains("\"r2\"") && members.contains("\"r1\""),
        "{members}"
    );
    let (status, _) = as_user(&w, &w.a, "r1", "GET", &format!("/v1/calls/{}", w.c1), None).await;
    assert_eq!(status, StatusCode::OK, "another rep's call stays");

    // Teams: only their owners and admins; the team's calls go with it.
    let east = format!("/v1/teams/{}", w.east);
    assert_eq!(delete(&w.a, "owner", east.clone()).await, not_found);
    assert_eq!(delete(&w.a, "r3", east.clone()).await, not_found);
    let (status, body) = delete(&w.a, "owner-east", east.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = as_user(
        &w,
        &w.a,
        "owner",
        "GET",
        &format!("/v1/calls/{}", w.c3),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        delete(&w.a, "owner-east", east.clone()).await,
        not_found,
        "already gone"
    );
    assert_eq!(delete(&w.a, "admin", east).await, not_found, "already gone");

    // A legal hold refuses the user's and the workspace's deletion; nothing changes.
    let hold = format!("/v1/calls/{}/legal-hold", w.c1);
    let held = |on: bool| {
        as_user(
            &w,
            &w.a,
            "owner",
            "PUT",
            &hold,
            Some(json!({"legal_hold": on})),
        )
    };
    assert_eq!(held(true).await.0, StatusCode::OK);
    assert_eq!(
        delete(&w.a, "admin", "/v1/users/r1".into()).await.0,
        StatusCode::CONFLICT
    );
    assert_eq!(
        delete(&w.a, "admin", "/v1/workspace".into()).await.0,
        StatusCode::CONFLICT
    );
    assert_eq!(held(false).await.0, StatusCode::OK);

    // The workspace: admins only, never a team owner; locked at once, shredded only later.
    let keys = |tenant: &TenantId| {
        let store = w.api.ports.store();
        let tenant = tenant.clone();
        async move {
            store
                .latest_data_key(&tenant, DataCategory::Transcripts)
                .await
                .unwrap()
        }
    };
    assert!(
        keys(&w.a).await.is_some(),
        "c1's transcript was sealed under a data key"
    );
    assert_eq!(
        delete(&w.a, "manager", "/v1/workspace".into()).await,
        not_found
    );
    assert_eq!(
        delete(&w.a, "owner", "/v1/workspace".into()).await,
        not_found
    );
    let (status, body) = delete(&w.a, "admin", "/v1/workspace".into()).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let asked: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(asked["state"], "deletion_pending");
    assert_eq!(asked["grace_hours"], 72);
    assert!(
        keys(&w.a).await.is_some(),
        "nothing is shredded during the grace period"
    );
    let gone = |who: &'static str, method: &'static str, path: String| {
        let w = &w;
        async move {
            as_user(
                w,
                &w.a,
                who,
                method,
                &path,
                Some(json!({"scope": "workspace"})),
            )
            .await
            .0
        }
    };
    for (who, method, path) in [
        ("r1", "GET", format!("/v1/calls/{}", w.c1)),
        ("owner", "GET", format!("/v1/calls?team_id={}", w.west)),
        ("admin", "POST", "/v1/exports".to_owned()),
        ("admin", "GET", "/v1/workspace/retention".to_owned()),
        ("owner", "GET", "/v1/workspace/deletion".to_owned()),
        ("owner", "DELETE", "/v1/workspace/deletion".to_owned()),
    ] {
        assert_eq!(
            gone(who, method, path.clone()).await,
            StatusCode::GONE,
            "{who} {method} {path}"
        );
    }
    // Asking again answers the same pending deletion; only an admin still sees it, and may
    // cancel it.
    let (status, body) = delete(&w.a, "admin", "/v1/workspace".into()).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["shred_at"],
        asked["shred_at"]
    );
    let (status, body) = as_user(&w, &w.a, "admin", "GET", "/v1/workspace/deletion", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["shred_at"],
        asked["shred_at"]
    );
    let (status, _) = as_user(&w, &w.a, "admin", "DELETE", "/v1/workspace/deletion", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        gone("r1", "GET", format!("/v1/calls/{}", w.c1)).await,
        StatusCode::OK,
        "served again"
    );
    assert_eq!(
        as_user(&w, &w.a, "admin", "GET", "/v1/workspace/deletion", None).await,
        not_found,
        "nothing pending"
    );

    // Asked again and left alone: the reaper shreds and purges it when the grace period ends.
    let (status, body) = delete(&w.a, "admin", "/v1/workspace".into()).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let shred_at = time::OffsetDateTime::parse(
        serde_json::from_str::<Value>(&body).unwrap()["shred_at"]
            .as_str()
            .unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let reap_at = |at: time::OffsetDateTime| {
        let w = &w;
        async move {
            let clock = callcoach_shared::fakes::ManualClock::at(at);
            callcoach_shared::usecases::reaper::Reaper {
                store: w.api.ports.store(),
                blobs: w.api.ports.blobs(),
                clock: &clock,
            }
            .run(Some(std::slice::from_ref(&w.a)), false, || true)
            .await
            .unwrap()
        }
    };
    assert_eq!(
        reap_at(shred_at - time::Duration::SECOND)
            .await
            .accounts_destroyed,
        0
    );
    assert!(keys(&w.a).await.is_some());
    assert_eq!(reap_at(shred_at).await.accounts_destroyed, 1);
    assert!(
        keys(&w.a).await.is_none(),
        "every data key of the workspace is destroyed"
    );
    assert_eq!(
        gone("admin", "GET", "/v1/workspace/deletion".into()).await,
        StatusCode::GONE
    );
    let (status, _) = as_user(&w, &w.b, "r1", "GET", &format!("/v1/calls/{}", w.cb), None).await;
    assert_eq!(status, StatusCode::OK, "another tenant is untouched");
}

/// Admins name and remove admins; the last one cannot leave; nobody else touches them.
pub async fn admins_name_and_remove_admins_and_the_last_cannot_leave<B: Backend>() {
    let w = world::<B>().await;
    let list = || async {
        let (status, body) = as_user(&w, &w.a, "admin", "GET", "/v1/workspace/admins", None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let mut ids: Vec<String> = serde_json::from_str::<Value>(&body).unwrap()["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["user_id"].as_str().unwrap().to_owned())
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(list().await, ["admin"]);
    let (status, _) = as_user(
        &w,
        &w.a,
        "admin",
        "DELETE",
        "/v1/workspace/admins/admin",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "the last admin stays");
    for who in ["owner", "manager", "r1", "stranger"] {
        for (method, path) in [
            ("GET", "/v1/workspace/admins"),
            ("PUT", "/v1/workspace/admins/r1"),
            ("DELETE", "/v1/workspace/admins/admin"),
        ] {
            let (status, text) = as_user(&w, &w.a, who, method, path, None).await;
            assert_eq!(
                (status, text.as_str()),
                (StatusCode::NOT_FOUND, NOT_FOUND_BODY),
                "{who} {method} {path}"
            );
        }
    }
    let (status, _) = as_user(&w, &w.b, "admin-b", "PUT", "/v1/workspace/admins/r1", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        list().await,
        ["admin"],
        "another workspace's admin names no admin here"
    );
    let (status, body) =
        as_user(&w, &w.a, "admin", "PUT", "/v1/workspace/admins/owner", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(list().await, ["admin", "owner"]);
    // The new admin administers the workspace; the first one leaves.
    let (status, _) = as_user(&w, &w.a, "owner", "GET", "/v1/workspace/retention", None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = as_user(
        &w,
        &w.a,
        "admin",
        "DELETE",
        "/v1/workspace/admins/admin",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = as_user(&w, &w.a, "admin", "GET", "/v1/workspace/retention", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "no longer an admin");
    let (status, _) = as_user(
        &w,
        &w.a,
        "owner",
        "DELETE",
        "/v1/workspace/admins/owner",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = as_user(
        &w,
        &w.a,
        "owner",
        "DELETE",
        "/v1/workspace/admins/nobody",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
