//! Teams, members, playbooks and admins.

use super::*;

pub async fn teams_members_and_calls_happy_paths_and_role_limits<B: Backend>() {
    let w = world::<B>().await;
    let founding = Some(json!({"name": "North", "owner_id": "founder"}));
    let body = w
        .expect("admin", "POST", "/v1/teams", founding, StatusCode::CREATED)
        .await;
    let created = json_of(&body);
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
        let (status, body) = w.set_role(actor, &team, member, role).await;
        assert_eq!(status, expected, "{actor} sets {member} to {role}: {body}");
    }
    let body = w.expect("mia", "GET", &members, None, StatusCode::OK).await;
    assert_eq!(json_of(&body)["items"].as_array().unwrap().len(), 4);
    let lee = format!("{members}/lee");
    w.expect("admin", "DELETE", &lee, None, StatusCode::NO_CONTENT)
        .await;
    w.expect("sam", "GET", &members, None, StatusCode::NOT_FOUND)
        .await;

    let new_call = |rep: Option<&str>| {
        let mut body = new_call_body(&team, 1234);
        body["rep_id"] = json!(rep);
        body
    };
    let (status, body) = w.create_call_as("sam", new_call(None)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let created = json_of(&body);
    assert_eq!(created["call"]["status"], "awaiting_upload");
    assert_eq!(created["upload"]["method"], "PUT");
    assert_eq!(created["upload"]["headers"]["content-type"], "text/vtt");
    assert_eq!(created["upload"]["headers"]["content-length"], "1234");
    // (creator, rep of the call, expected, why)
    for (who, rep, expected, why) in [
        (
            "sam",
            "mia",
            StatusCode::NOT_FOUND,
            "a rep creates only their own calls",
        ),
        (
            "mia",
            "sam",
            StatusCode::CREATED,
            "a manager creates their reps' calls",
        ),
        (
            "mia",
            "r3",
            StatusCode::NOT_FOUND,
            "not a member of this team",
        ),
    ] {
        let (status, body) = w.create_call_as(who, new_call(Some(rep))).await;
        assert_eq!(status, expected, "{why}: {body}");
    }
    let mut bad = new_call(None);
    bad["content_type"] = json!("application/x-msdownload");
    let (status, body) = w.create_call_as("sam", bad).await;
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
    w.expect("owner", "PUT", &path, Some(playbook), StatusCode::OK)
        .await;
    for who in ["r1", "manager", "owner"] {
        let body = w.expect(who, "GET", &path, None, StatusCode::OK).await;
        assert_eq!(json_of(&body)["trackers"][0]["name"], "competitors");
    }
    // Only the team's owner may set it.
    for who in ["manager", "r1", "owner-east"] {
        w.expect_the_one_404(&w.a, who, "PUT", &path, Some(json!({})))
            .await;
    }
    w.expect("owner-east", "GET", &path, None, StatusCode::NOT_FOUND)
        .await;
    let (status, _) = as_user(&w, &w.b, "owner-b", "GET", &path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // (playbook, what the refusal names)
    for (refused, named) in [
        (
            json!({"value_propositions": vec!["x"; 51]}),
            "value_propositions",
        ),
        (
            json!({"trackers": [{"name": "a", "phrases": ["b"], "weight": 2}]}),
            "unknown field `weight`",
        ),
    ] {
        let (status, body) = w.send_as("owner", "PUT", &path, Some(refused)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body.contains(named), "{body}");
    }
}

/// P6 through the API: users, teams and the workspace are deleted by those who administer
/// them, and by no one else (the same 404); a legal hold refuses the deletion; what is deleted
/// answers 404 at once. The workspace goes in two steps: an admin asks, it answers 410 to
/// everyone at once, an admin may cancel during the grace period, and its keys are shredded
/// when the grace period ends; other tenants carry on.
pub async fn users_teams_and_workspaces_are_deleted_by_those_who_administer_them<B: Backend>() {
    use callcoach_shared::crypto::{DataCategory, DataKeyStore};
    let w = world::<B>().await;
    let (workspace, deletion) = ("/v1/workspace", "/v1/workspace/deletion");
    // Deleting a user is the admins' alone: not a manager, not the team's own owner, not
    // another team's owner or another tenant's admin. The one 404.
    for (tenant, who, path) in [
        (&w.a, "manager", "/v1/users/r2"),
        (&w.a, "owner", "/v1/users/r2"),
        (&w.a, "owner-east", "/v1/users/r2"),
        (&w.b, "admin-b", "/v1/users/r2"),
        (&w.a, "admin", "/v1/users/nobody"),
        (&w.a, "owner", "/v1/users/admin"),
    ] {
        w.expect_the_one_404(tenant, who, "DELETE", path, None)
            .await;
    }
    let (status, _) = w.send_as("admin", "DELETE", "/v1/users/admin", None).await;
    assert_eq!(status, StatusCode::CONFLICT, "no one deletes themselves");
    // A team owner who adds someone to their team still cannot delete them (their calls in
    // other teams would go with them): r3's call in east stays.
    let (status, _) = w.set_role("owner", w.west.as_str(), "r3", "rep").await;
    assert_eq!(status, StatusCode::OK);
    w.expect_the_one_404(&w.a, "owner", "DELETE", "/v1/users/r3", None)
        .await;
    let c3 = format!("/v1/calls/{}", w.c3);
    let (status, _) = w.send_as("owner-east", "GET", &c3, None).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "r3's call in another team is untouched"
    );
    // The last owner of a team is not deleted out from under it.
    let last_owner = "/v1/users/owner-east";
    w.expect("admin", "DELETE", last_owner, None, StatusCode::CONFLICT)
        .await;

    let body = w
        .expect("admin", "DELETE", "/v1/users/r2", None, StatusCode::OK)
        .await;
    assert_eq!(json_of(&body)["calls_deleted"], 1);
    let c2 = format!("/v1/calls/{}", w.c2);
    let (status, _) = w.send_as("owner", "GET", &c2, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "r2's call is gone at once");
    let west_members = format!("/v1/teams/{}/members", w.west);
    let (_, members) = w.send_as("owner", "GET", &west_members, None).await;
    assert!(
        !members.contains("\"r2\"") && members.contains("\"r1\""),
        "{members}"
    );
    let c1 = format!("/v1/calls/{}", w.c1);
    let (status, _) = w.send_as("r1", "GET", &c1, None).await;
    assert_eq!(status, StatusCode::OK, "another rep's call stays");

    // Teams: only their owners and admins; the team's calls go with it.
    let east = format!("/v1/teams/{}", w.east);
    for who in ["owner", "r3"] {
        w.expect_the_one_404(&w.a, who, "DELETE", &east, None).await;
    }
    w.expect("owner-east", "DELETE", &east, None, StatusCode::OK)
        .await;
    w.expect("owner", "GET", &c3, None, StatusCode::NOT_FOUND)
        .await;
    // Already gone.
    for who in ["owner-east", "admin"] {
        w.expect_the_one_404(&w.a, who, "DELETE", &east, None).await;
    }

    // A legal hold refuses the user's and the workspace's deletion; nothing changes.
    let (status, _) = w.set_legal_hold("owner", &w.c1, true).await;
    assert_eq!(status, StatusCode::OK);
    for path in ["/v1/users/r1", workspace] {
        w.expect("admin", "DELETE", path, None, StatusCode::CONFLICT)
            .await;
    }
    let (status, _) = w.set_legal_hold("owner", &w.c1, false).await;
    assert_eq!(status, StatusCode::OK);

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
    for who in ["manager", "owner"] {
        w.expect_the_one_404(&w.a, who, "DELETE", workspace, None)
            .await;
    }
    let ask_deletion = || w.expect("admin", "DELETE", workspace, None, StatusCode::ACCEPTED);
    let asked = json_of(&ask_deletion().await);
    assert_eq!(asked["state"], "deletion_pending");
    assert_eq!(asked["grace_hours"], 72);
    assert!(
        keys(&w.a).await.is_some(),
        "nothing is shredded during the grace period"
    );
    let gone = |who: &'static str, method: &'static str, path: String| {
        let w = &w;
        async move {
            let body = Some(json!({"scope": "workspace"}));
            w.send_as(who, method, &path, body).await.0
        }
    };
    for (who, method, path) in [
        ("r1", "GET", c1.clone()),
        ("owner", "GET", format!("/v1/calls?team_id={}", w.west)),
        ("admin", "POST", "/v1/exports".to_owned()),
        ("admin", "GET", RETENTION.to_owned()),
        ("owner", "GET", deletion.to_owned()),
        ("owner", "DELETE", deletion.to_owned()),
    ] {
        assert_eq!(
            gone(who, method, path.clone()).await,
            StatusCode::GONE,
            "{who} {method} {path}"
        );
    }
    // Asking again answers the same pending deletion; only an admin still sees it, and may
    // cancel it.
    assert_eq!(
        json_of(&ask_deletion().await)["shred_at"],
        asked["shred_at"]
    );
    let body = w
        .expect("admin", "GET", deletion, None, StatusCode::OK)
        .await;
    assert_eq!(json_of(&body)["shred_at"], asked["shred_at"]);
    w.expect("admin", "DELETE", deletion, None, StatusCode::NO_CONTENT)
        .await;
    assert_eq!(gone("r1", "GET", c1).await, StatusCode::OK, "served again");
    // Nothing pending.
    w.expect_the_one_404(&w.a, "admin", "GET", deletion, None)
        .await;

    // Asked again and left alone: the reaper shreds and purges it when the grace period ends.
    let shred_at = time::OffsetDateTime::parse(
        json_of(&ask_deletion().await)["shred_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let reap_at = |at: time::OffsetDateTime| {
        let w = &w;
        async move {
            let clock = callcoach_shared::fakes::ManualClock::at(at);
            let signer = callcoach_shared::fakes::LocalReceiptSigner::default();
            callcoach_shared::usecases::reaper::Reaper {
                store: w.api.ports.store(),
                blobs: w.api.ports.blobs(),
                clock: &clock,
                signer: &signer,
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
        gone("admin", "GET", deletion.into()).await,
        StatusCode::GONE
    );
    let (status, _) = as_user(&w, &w.b, "r1", "GET", &format!("/v1/calls/{}", w.cb), None).await;
    assert_eq!(status, StatusCode::OK, "another tenant is untouched");
}

/// Admins name and remove admins; the last one cannot leave; nobody else touches them.
pub async fn admins_name_and_remove_admins_and_the_last_cannot_leave<B: Backend>() {
    let w = world::<B>().await;
    let list = || async {
        let body = w
            .expect("admin", "GET", "/v1/workspace/admins", None, StatusCode::OK)
            .await;
        let mut ids: Vec<String> = json_of(&body)["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["user_id"].as_str().unwrap().to_owned())
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(list().await, ["admin"]);
    let (status, _) = w
        .send_as("admin", "DELETE", "/v1/workspace/admins/admin", None)
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "the last admin stays");
    for who in ["owner", "manager", "r1", "stranger"] {
        for (method, path) in [
            ("GET", "/v1/workspace/admins"),
            ("PUT", "/v1/workspace/admins/r1"),
            ("DELETE", "/v1/workspace/admins/admin"),
        ] {
            w.expect_the_one_404(&w.a, who, method, path, None).await;
        }
    }
    let (status, _) = as_user(&w, &w.b, "admin-b", "PUT", "/v1/workspace/admins/r1", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        list().await,
        ["admin"],
        "another workspace's admin names no admin here"
    );
    let (status, body) = w
        .send_as("admin", "PUT", "/v1/workspace/admins/owner", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(list().await, ["admin", "owner"]);
    // The new admin administers the workspace; the first one leaves (and no longer
    // administers it); the one left cannot.
    for (who, method, path, expected) in [
        ("owner", "GET", RETENTION, StatusCode::OK),
        (
            "admin",
            "DELETE",
            "/v1/workspace/admins/admin",
            StatusCode::NO_CONTENT,
        ),
        ("admin", "GET", RETENTION, StatusCode::NOT_FOUND),
        (
            "owner",
            "DELETE",
            "/v1/workspace/admins/owner",
            StatusCode::CONFLICT,
        ),
        (
            "owner",
            "DELETE",
            "/v1/workspace/admins/nobody",
            StatusCode::NOT_FOUND,
        ),
    ] {
        w.expect(who, method, path, None, expected).await;
    }
}
