//! Exports: what a bundle holds and who may take it.

use super::*;

pub async fn exports_hold_exactly_what_the_caller_may_take_and_no_other_tenants_data<B: Backend>() {
    let w = world::<B>().await;
    // Canary words in transcripts of another rep, another team and another tenant.
    let r2_call = stored_call(&w, &w.a, &w.c2).await;
    score_saying(&w.api, r2_call, "canary-of-rep-two").await;
    let east_call = stored_call(&w, &w.a, &w.c3).await;
    score_saying(&w.api, east_call, "canary-of-team-east").await;
    let b_call = stored_call(&w, &w.b, &w.cb).await;
    score_saying(&w.api, b_call, "canary-of-tenant-b").await;
    // An audit event of r1's own, and one of someone else's.
    w.set_rep_speaker("r1", &w.c1, "Dana").await;
    w.set_rep_speaker("manager", &w.c2, "Dana").await;

    let bundle_of = |text: &str| {
        let answer = json_of(text);
        let id = answer["export_id"].as_str().unwrap().to_owned();
        let key = match answer["scope"].as_str() {
            Some("workspace") => format!("exports/{}/workspace/{id}.json", w.a),
            _ => format!("exports/{}/users/r1/{id}.json", w.a),
        };
        (answer, key)
    };
    let (status, text) = w.export_as(&w.a, "r1", "user").await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    // The bundle is in the bucket under exports/{tenant}/ (read back below).
    let (answer, key) = bundle_of(&text);
    let bytes = bundle_bytes(&w, &key).await;
    // Stored sealed: readable only with the key in the answer, which nothing of ours keeps.
    assert!(serde_json::from_slice::<Value>(&bytes).is_err());
    assert_eq!(answer["bundle_format"], "callcoach.sealed.v1");
    let bundle = callcoach_tests::open_export(&bytes, answer["bundle_key"].as_str().unwrap());
    assert_eq!(bundle["schema"], "callcoach.export.v1");
    assert_eq!(
        callcoach_tests::export_schema_errors(&bundle),
        Vec::<String>::new()
    );
    assert_eq!(bundle["scope"], "user");
    assert_eq!(bundle["counts"], answer["counts"]);
    // r1 has one call (c1, scored): its transcript, analysis, progress and own audit event.
    let calls = bundle["calls"].as_array().unwrap();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0]["call"]["call_id"], w.c1.as_str());
    assert_eq!(bundle["counts"]["transcripts"], 1);
    assert_eq!(bundle["counts"]["analyses"], 1);
    assert_eq!(
        bundle["counts"]["highlights"],
        calls[0]["analysis"]["highlights"].as_array().unwrap().len()
    );
    assert_eq!(bundle["progress"].as_array().unwrap().len(), 1);
    assert_eq!(
        bundle["counts"]["goals"],
        bundle["progress"][0]["progress"]["current_goals"]
            .as_array()
            .unwrap()
            .len()
    );
    let events = bundle["audit_events"].as_array().unwrap();
    assert!(!events.is_empty() && events.iter().all(|e| e["actor"] == "r1"));
    assert_eq!(bundle["counts"]["audit_events"], events.len());
    let opened = bundle.to_string();
    for canary in [
        "canary-of-rep-two",
        "canary-of-team-east",
        "canary-of-tenant-b",
    ] {
        assert!(!opened.contains(canary), "{canary}");
    }
    assert!(!opened.contains("ciphertext"));
    let expires = time::OffsetDateTime::parse(
        answer["expires_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert!(
        expires - SystemClock.now() <= time::Duration::minutes(15),
        "the link is short-lived"
    );

    // Owning a team is not enough to export the workspace.
    assert_eq!(w.export_as(&w.a, "owner", "workspace").await, the_one_404());
    // The admin exports the workspace, as a background job: 202 and a status resource that
    // says queued until the job has run.
    let (status, text) = w.export_as(&w.a, "admin", "workspace").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{text}");
    let (job, key) = bundle_of(&text);
    let status_url = job["status_url"].as_str().unwrap().to_owned();
    assert_eq!(
        status_url,
        format!("/v1/exports/{}", job["export_id"].as_str().unwrap())
    );
    let (status, text) = w.send_as("admin", "GET", &status_url, None).await;
    let queued = json_of(&text);
    assert_eq!(
        (status, &queued["state"], queued.get("download_url")),
        (StatusCode::OK, &json!("queued"), None)
    );
    // Only the workspace's admins see the job; everyone else gets the one 404, as for an
    // unknown or malformed id and for the other workspace.
    for who in ["owner", "manager", "r1", "stranger"] {
        w.expect_the_one_404(&w.a, who, "GET", &status_url, None)
            .await;
    }
    for (tenant, who, path) in [
        (
            &w.a,
            "admin",
            "/v1/exports/exp_00000000000000000000000000000000",
        ),
        (&w.a, "admin", "/v1/exports/not-an-id"),
        (&w.b, "admin-b", status_url.as_str()),
    ] {
        w.expect_the_one_404(tenant, who, "GET", path, None).await;
    }
    // The queue delivers the job to the function; delivered twice, it is written once.
    assert_eq!(run_export_jobs(&w).await, 1);
    let ready = json_of(
        &w.expect("admin", "GET", &status_url, None, StatusCode::OK)
            .await,
    );
    assert_eq!(ready["state"], "ready", "{ready}");
    assert!(
        ready["download_url"]
            .as_str()
            .is_some_and(|u| !u.is_empty())
    );
    assert!(ready["finished_at"].is_string() && ready["expires_at"].is_string());
    // Each link to the whole workspace is on the record: who asked for which export.
    let issued: Vec<_> = audit_events(&w)
        .await
        .into_iter()
        .filter(|e| e.action == "export.link_issued")
        .collect();
    assert_eq!(issued.len(), 1);
    assert_eq!(
        (
            issued[0].actor.as_ref().map(|u| u.as_str()),
            issued[0].object.as_str()
        ),
        (Some("admin"), status_url.as_str())
    );
    let bytes = bundle_bytes(&w, &key).await;
    assert_eq!(run_export_jobs_again(&w, &job).await, 1);
    assert_eq!(
        bundle_bytes(&w, &key).await,
        bytes,
        "a redelivery rewrites nothing"
    );
    // Every call of west and east, none of b.
    let bundle = callcoach_tests::open_export(&bytes, ready["bundle_key"].as_str().unwrap());
    assert_eq!(bundle["counts"], ready["counts"]);
    assert_eq!(
        callcoach_tests::export_schema_errors(&bundle),
        Vec::<String>::new()
    );
    let ids: Vec<&str> = bundle["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["call"]["call_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 3);
    for call in [&w.c1, &w.c2, &w.c3] {
        assert!(ids.contains(&call.as_str()), "{call}");
    }
    let text = bundle.to_string();
    assert!(text.contains("canary-of-rep-two") && text.contains("canary-of-team-east"));
    assert!(!text.contains("canary-of-tenant-b"));
    assert!(!String::from_utf8_lossy(&bytes).contains("canary-of-rep-two"));
    assert_eq!(bundle["counts"]["transcripts"], 3);

    // A rep may not export the workspace; unknown scopes and fields are refused.
    assert_eq!(w.export_as(&w.a, "r1", "workspace").await, the_one_404());
    let (status, _) = w.export_as(&w.a, "r1", "everything").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let foreign = Some(json!({"scope": "user", "tenant_id": "tenant-b"}));
    let (status, _) = w.send_as("r1", "POST", "/v1/exports", foreign).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

/// A deletion withdraws every bundle that may hold what it deleted: the workspace's (each holds
/// all of it) and the own bundles of the users whose data went; a bundle of someone else stays.
/// Its link dies with it, and the export's status says it was withdrawn.
pub async fn a_deletion_withdraws_the_export_bundles_that_may_hold_its_data<B: Backend>() {
    use callcoach_shared::ports::BlobStore;
    let w = world::<B>().await;
    let held = async |who: &str| {
        let (status, text) = w.export_as(&w.a, who, "user").await;
        assert_eq!(status, StatusCode::CREATED, "{text}");
        let id = json_of(&text)["export_id"].as_str().unwrap().to_owned();
        format!("exports/{}/users/{who}/{id}.json", w.a)
    };
    let present = async |key: &str| !w.api.ports.blobs().list(key).await.unwrap().is_empty();
    let workspace_bundle = async || {
        let (status, text) = w.export_as(&w.a, "admin", "workspace").await;
        assert_eq!(status, StatusCode::ACCEPTED, "{text}");
        run_export_jobs(&w).await;
        json_of(&text)["status_url"].as_str().unwrap().to_owned()
    };
    let state_of = async |status_url: &str| {
        json_of(
            &w.expect("admin", "GET", status_url, None, StatusCode::OK)
                .await,
        )
    };

    // r1 deletes their call: r1's bundle and the workspace's go; r2's and r3's stay.
    let (r1, r2, r3) = (held("r1").await, held("r2").await, held("r3").await);
    let status_url = workspace_bundle().await;
    assert_eq!(state_of(&status_url).await["state"], "ready");
    w.expect(
        "r1",
        "DELETE",
        &format!("/v1/calls/{}", w.c1),
        None,
        StatusCode::NO_CONTENT,
    )
    .await;
    assert!(!present(&r1).await, "the rep's own bundle holds the call");
    assert!(
        present(&r2).await && present(&r3).await,
        "the others' do not"
    );
    let withdrawn = state_of(&status_url).await;
    assert_eq!(withdrawn["state"], "withdrawn", "{withdrawn}");
    assert!(withdrawn.get("download_url").is_none());

    // The admin deletes r2: r2's bundle goes, r3's stays.
    let status_url = workspace_bundle().await;
    w.expect("admin", "DELETE", "/v1/users/r2", None, StatusCode::OK)
        .await;
    assert!(!present(&r2).await && present(&r3).await);
    assert_eq!(state_of(&status_url).await["state"], "withdrawn");

    // A team's deletion takes every user's own bundle, and the workspace's deletion the rest.
    let r3 = held("r3").await;
    w.expect(
        "admin",
        "DELETE",
        &format!("/v1/teams/{}", w.east),
        None,
        StatusCode::OK,
    )
    .await;
    assert!(!present(&r3).await);
    let r1 = held("r1").await;
    let _ = workspace_bundle().await;
    let (status, _) = w.send_as("admin", "DELETE", "/v1/workspace", None).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert!(!present(&r1).await);
    let left = export_objects(&w).await;
    assert!(left.is_empty(), "{left:?}");
}
