//! Calls: listing, filtering, reading, rescoring, deleting and holding.

use super::*;

pub async fn every_call_route_answers_the_same_404_for_what_the_caller_may_not_see<B: Backend>() {
    let w = world::<B>().await;
    let missing: CallId = RandomIds.mint();
    // (method, suffix, body, whether the call's own rep may): a rep does not choose which
    // speaker is scored as the rep (their own score would follow their choice).
    let routes: [(&str, &str, Option<Value>, bool); 5] = [
        ("GET", "", None, true),
        ("GET", "/transcript", None, true),
        ("GET", "/analysis", None, true),
        (
            "PUT",
            "/rep-speaker",
            Some(json!({"speaker": "Dana"})),
            false,
        ),
        ("POST", "/rescore", None, false),
    ];
    // (caller tenant, caller, call id, visible)
    let cases: Vec<(&TenantId, &str, String, bool)> = vec![
        (&w.a, "r1", w.c1.to_string(), true),              // own
        (&w.a, "r1", w.c2.to_string(), false),             // other user, same team
        (&w.a, "r1", w.c3.to_string(), false),             // other team
        (&w.a, "r1", w.cb.to_string(), false),             // other tenant's id
        (&w.b, "r1", w.c1.to_string(), false),             // same person, other tenant's token
        (&w.a, "r1", missing.to_string(), false),          // missing id
        (&w.a, "r1", "call_not-a-valid-id".into(), false), // malformed id
        (&w.a, "manager", w.c1.to_string(), true),
        (&w.a, "manager", w.c3.to_string(), false),
        (&w.a, "owner-east", w.c1.to_string(), false),
        (&w.a, "owner", w.c1.to_string(), true),
        (&w.a, "stranger", w.c1.to_string(), false), // no membership at all
        (&w.a, "admin", w.c1.to_string(), false),    // administers, sees no call
    ];
    for (tenant, who, id, visible) in cases {
        for (method, suffix, body, reps_may) in &routes {
            let path = format!("/v1/calls/{id}{suffix}");
            // Where not served, the one 404: its body identical whatever the reason.
            let served = visible && (who != "r1" || *reps_may);
            w.expect_served_or_the_one_404(served, tenant, who, method, &path, body.clone())
                .await;
        }
    }
}

pub async fn listing_respects_roles_tenants_and_pages<B: Backend>() {
    let w = world::<B>().await;
    for _ in 0..3 {
        call(&w.api, &w.a, &w.west, "r2").await;
    }
    let list = |who: &'static str, tenant: TenantId, query: String| {
        let w = &w;
        async move { as_user(w, &tenant, who, "GET", &format!("/v1/calls?{query}"), None).await }
    };
    let (status, body) = list(
        "manager",
        w.a.clone(),
        format!("team_id={}&limit=2", w.west),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let page: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let mut seen = page["items"].as_array().unwrap().len();
    let mut cursor = page["next_cursor"].as_str().map(str::to_owned);
    while let Some(c) = cursor {
        let (_, body) = list(
            "manager",
            w.a.clone(),
            format!("team_id={}&limit=2&cursor={c}", w.west),
        )
        .await;
        let page: Value = serde_json::from_str(&body).unwrap();
        seen += page["items"].as_array().unwrap().len();
        cursor = page["next_cursor"].as_str().map(str::to_owned);
    }
    assert_eq!(seen, 5, "c1, c2 and three more, across pages");

    let (_, body) = list("r1", w.a.clone(), format!("team_id={}&limit=50", w.west)).await;
    let page: Value = serde_json::from_str(&body).unwrap();
    let reps: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["rep_id"].as_str().unwrap())
        .collect();
    assert_eq!(reps, ["r1"], "a rep lists only their own calls");

    // Another tenant's owner cannot list this team; a foreign cursor is refused.
    let (status, text) = list("owner-b", w.b.clone(), format!("team_id={}", w.west)).await;
    assert_eq!(
        (status, text.as_str()),
        (StatusCode::NOT_FOUND, NOT_FOUND_BODY)
    );
    let (_, body) = list(
        "manager",
        w.a.clone(),
        format!("team_id={}&limit=1", w.west),
    )
    .await;
    let cursor = serde_json::from_str::<Value>(&body).unwrap()["next_cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) = list(
        "manager",
        w.a.clone(),
        format!("team_id={}&cursor={cursor}", w.east),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "the manager of west is not in east"
    );
    let (status, _) = list(
        "owner",
        w.a.clone(),
        format!("team_id={}&cursor={cursor}", w.east),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "owner of west only");
    // Responses never carry internal fields.
    assert!(
        !body.contains("upload_key")
            && !body.contains("schema_version")
            && !body.contains("sequencer")
    );
}

/// A rep's listing is a query by rep: paging one call at a time, every page holds one of
/// their own calls (none empty, none skipped), and the cursors are sealed: nothing inside is
/// readable (no colleague's call id, no key, no time), one altered character is refused, and
/// a cursor of one listing opens in no other.
pub async fn a_reps_listing_is_a_query_by_rep_with_sealed_cursors<B: Backend>() {
    use base64::Engine;
    let w = world::<B>().await;
    let mut colleague_calls = vec![w.c2.to_string()];
    for i in 0..6 {
        let rep = if i % 2 == 0 { "r1" } else { "r2" };
        let c = call(&w.api, &w.a, &w.west, rep).await;
        if rep == "r2" {
            colleague_calls.push(c.call_id.to_string());
        }
    }
    let list = |who: &'static str, query: String| {
        let w = &w;
        async move {
            let (status, body) = as_user(
                w,
                &w.a,
                who,
                "GET",
                &format!("/v1/calls?team_id={}&{query}", w.west),
                None,
            )
            .await;
            (
                status,
                serde_json::from_str::<Value>(&body).unwrap_or(Value::Null),
                body,
            )
        }
    };
    let (mut seen, mut cursors) = (Vec::new(), Vec::new());
    let mut query = "limit=1".to_owned();
    loop {
        let (status, page, body) = list("r1", query.clone()).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let items = page["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "a page of one of r1's own calls: {body}");
        assert_eq!(items[0]["rep_id"], "r1");
        seen.push(items[0]["call_id"].as_str().unwrap().to_owned());
        match page["next_cursor"].as_str() {
            Some(next) => {
                cursors.push(next.to_owned());
                query = format!("limit=1&cursor={next}");
            }
            None => break,
        }
    }
    assert_eq!(seen.len(), 4, "c1 and three more of r1's");
    for cursor in &cursors {
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(cursor)
            .unwrap_or_default();
        let text = String::from_utf8_lossy(&raw);
        // Long strings only: random bytes match a two-letter one now and then.
        for secret in
            colleague_calls
                .iter()
                .map(String::as_str)
                .chain([w.a.as_str(), "CALL#", "gsi2"])
        {
            assert!(!text.contains(secret), "a cursor shows {secret}");
        }
        for id in &seen {
            assert!(!text.contains(id.as_str()), "a cursor shows a call id");
        }
    }
    // Altered, or used in another listing (the manager's team listing, r2's listing, another
    // tenant's): refused.
    let mut altered = cursors[0].clone().into_bytes();
    altered[10] = if altered[10] == b'A' { b'B' } else { b'A' };
    let altered = String::from_utf8(altered).unwrap();
    let (status, _, body) = list("r1", format!("limit=1&cursor={altered}")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, _, _) = list("manager", format!("cursor={}", cursors[0])).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "the rep's cursor in the team listing"
    );
    let (status, _, _) = list("manager", format!("rep_id=r2&cursor={}", cursors[0])).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "r1's cursor in r2's listing"
    );
    // A manager filtering by rep pages through that rep's calls alone.
    let (status, page, body) = list("manager", "rep_id=r2&limit=2".into()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert!(items.iter().all(|c| c["rep_id"] == "r2"));
}

pub async fn listing_filters_by_rep_type_status_company_and_date<B: Backend>() {
    let w = world::<B>().await;
    let list = |query: String| {
        let w = &w;
        async move {
            let (status, body) = as_user(
                w,
                &w.a,
                "manager",
                "GET",
                &format!("/v1/calls?team_id={}&limit=100&{query}", w.west),
                None,
            )
            .await;
            (status, serde_json::from_str::<Value>(&body).unwrap())
        }
    };
    let ids = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["call_id"].as_str().unwrap().to_owned())
            .collect()
    };
    // c1 (r1, scored) and c2 (r2, awaiting upload) are west's calls.
    assert_eq!(ids(&list("rep_id=r2".into()).await.1), [w.c2.to_string()]);
    assert_eq!(
        ids(&list("status=scored".into()).await.1),
        [w.c1.to_string()]
    );
    assert_eq!(ids(&list("call_type=demo".into()).await.1).len(), 0);
    assert_eq!(
        ids(&list("company_domain=INITECH.example".into()).await.1).len(),
        2
    );
    assert_eq!(
        ids(
            &list("from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z".into())
                .await
                .1
        )
        .len(),
        2
    );
    assert_eq!(
        ids(&list("to=2000-01-01T00:00:00Z".into()).await.1).len(),
        0
    );
    let (status, body) = list("from=yesterday".into()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["detail"].as_str().unwrap().contains("from"));
    let (status, body) = list("status=lost".into()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

pub async fn setting_the_rep_speaker_rescoring_without_retranscribing<B: Backend>() {
    let w = world::<B>().await;
    // The call's own rep may not pick whose talk is scored as theirs.
    assert_eq!(w.set_rep_speaker("r1", &w.c1, "Sam").await, the_one_404());
    assert_eq!(B::queued_jobs(&w).await, 0);
    let (status, body) = w.set_rep_speaker("manager", &w.c1, "Sam").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(json_of(&body)["call"]["rep_speaker"], "Sam");
    assert_eq!(B::queued_jobs(&w).await, 1);
    let (status, body) = w.set_rep_speaker("manager", &w.c1, "Nobody").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("speaker"));
    let c1 = format!("/v1/calls/{}", w.c1);
    let body = w.expect("r1", "GET", &c1, None, StatusCode::OK).await;
    assert!(body.contains("overall_score"));

    // While a job scores the call, a new speaker queues a re-score of its own (the running
    // job's analysis is for the old speaker).
    w.set_call_status(&w.c1, CallStatus::Scoring).await;
    let (status, body) = w.set_rep_speaker("manager", &w.c1, "Dana").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(json_of(&body)["rescoring"], true);
    assert!(B::queued_jobs(&w).await >= 1, "a re-score is queued");
    let stored = stored_call(&w, &w.a, &w.c1).await;
    let speaker =
        callcoach_shared::usecases::call_details::open_rep_speaker(w.api.ports.envelope(), &stored)
            .await
            .unwrap();
    assert_eq!(
        (stored.status, speaker.as_deref()),
        (CallStatus::Scoring, Some("Dana"))
    );
    // Sealed at rest: the stored item holds no name.
    let item = serde_json::to_string(&stored).unwrap();
    assert!(!item.contains("Dana"), "{item}");
    assert_eq!(
        json_of(&body)["call"]["rep_speaker"],
        "Dana",
        "shown opened"
    );
}

pub async fn a_rescore_request_queues_a_job_of_its_own_each_time<B: Backend>() {
    let w = world::<B>().await;
    let path = format!("/v1/calls/{}/rescore", w.c1);
    assert_eq!(w.send_as("r1", "POST", &path, None).await, the_one_404());
    assert_eq!(B::queued_jobs(&w).await, 0);
    let before = stored_call(&w, &w.a, &w.c1).await;
    for _ in 0..2 {
        let body = w
            .expect("manager", "POST", &path, None, StatusCode::ACCEPTED)
            .await;
        assert_eq!(json_of(&body)["rescoring"], true);
    }
    let after = stored_call(&w, &w.a, &w.c1).await;
    assert_eq!(after.rescore_requests, before.rescore_requests + 2);
    // Under legal hold the analysis stays as it is: neither a re-score nor a new speaker.
    let (status, body) = w.set_legal_hold("owner", &w.c1, true).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let body = w
        .expect("manager", "POST", &path, None, StatusCode::CONFLICT)
        .await;
    assert!(body.contains("legal hold"), "{body}");
    let (status, _) = w.set_rep_speaker("manager", &w.c1, "Sam").await;
    assert_eq!(status, StatusCode::CONFLICT);
    // The call's hold lifted, the workspace's own hold refuses it the same way.
    let (status, _) = w.set_legal_hold("owner", &w.c1, false).await;
    assert_eq!(status, StatusCode::OK);
    let held = Some(json!({"legal_hold": true}));
    w.expect("admin", "PUT", RETENTION, held, StatusCode::OK)
        .await;
    let body = w
        .expect("manager", "POST", &path, None, StatusCode::CONFLICT)
        .await;
    assert!(body.contains("workspace is under legal hold"), "{body}");
    // A call with no transcript yet has nothing to score again.
    let (status, body) = w
        .create_call_as("r1", new_call_body(w.west.as_str(), 10))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let fresh = json_of(&body)["call"]["call_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let rescore_fresh = format!("/v1/calls/{fresh}/rescore");
    let (status, _) = w.send_as("manager", "POST", &rescore_fresh, None).await;
    assert_eq!(status, StatusCode::CONFLICT);
    // Looked at once: on the local AWS a look hides what it saw.
    assert_eq!(
        B::queued_jobs(&w).await,
        2,
        "one job per request, none for the refused one"
    );
}

/// A transcript whose JSON is too large for a Lambda answer comes as a short-lived link to a
/// copy under the call's export prefix; small documents stay inline.
pub async fn a_document_too_large_for_an_answer_comes_as_a_link<B: Backend>() {
    let w = world::<B>().await;
    let mut long = call(&w.api, &w.a, &w.west, "r1").await;
    let mut vtt = String::from("WEBVTT\n\n");
    for i in 0..30_000u32 {
        let (s, ms) = (i / 10, (i % 10) * 100);
        vtt.push_str(&format!(
            "{:02}:{:02}:{:02}.{ms:03} --> {:02}:{:02}:{:02}.{:03}\n<v Dana>Tell me more about how the rollout went in region {i}.\n\n",
            s / 3600, s / 60 % 60, s % 60, s / 3600, s / 60 % 60, s % 60, ms + 90
        ));
    }
    let transcript = parse_vtt(&vtt).unwrap();
    DocumentVault {
        repository: w.api.ports.store(),
        blobs: w.api.ports.blobs(),
        envelope: w.api.ports.envelope(),
    }
    .put_transcript(&w.a, &long.call_id, 1, &transcript)
    .await
    .unwrap();
    long.transcript_version = 1;
    long.status = CallStatus::Transcribed;
    w.api.ports.store().save_call(&mut long).await.unwrap();

    let path = format!("/v1/calls/{}/transcript", long.call_id);
    let body = w.expect("r1", "GET", &path, None, StatusCode::OK).await;
    assert!(
        body.len() < 10_000,
        "a link, not the document: {} bytes",
        body.len()
    );
    let answer = json_of(&body);
    assert_eq!(answer["too_large"], true, "{answer}");
    assert!(answer["bytes"].as_u64().unwrap() > 2_500_000);
    assert!(
        answer["download_url"]
            .as_str()
            .is_some_and(|u| !u.is_empty())
    );
    assert!(answer["expires_at"].is_string());
    let key = callcoach_shared::keys::document_view_key(
        &w.a,
        &long.call_id,
        callcoach_shared::ports::DocumentKind::Transcript,
        1,
    );
    // The copy is sealed: only the key in the answer opens it.
    let stored = bundle_bytes(&w, &key).await;
    assert!(serde_json::from_slice::<Value>(&stored).is_err());
    let linked = callcoach_tests::open_export(&stored, answer["bundle_key"].as_str().unwrap());
    assert_eq!(linked["utterances"].as_array().unwrap().len(), 30_000);
    // Others may not: the same 404 as ever.
    w.expect("r2", "GET", &path, None, StatusCode::NOT_FOUND)
        .await;
    // A small document is the answer itself.
    let small = format!("/v1/calls/{}/transcript", w.c1);
    let body = w.expect("r1", "GET", &small, None, StatusCode::OK).await;
    assert!(json_of(&body)["utterances"].is_array());
}

pub async fn deleting_and_holding_calls_follow_the_access_rules<B: Backend>() {
    let w = world::<B>().await;
    let missing: CallId = RandomIds.mint();
    let hidden: Vec<(&TenantId, &str, String)> = vec![
        (&w.a, "r1", w.c2.to_string()),
        (&w.a, "r1", w.c3.to_string()),
        (&w.a, "r1", w.cb.to_string()),
        (&w.b, "r1", w.c1.to_string()),
        (&w.a, "r1", missing.to_string()),
        (&w.a, "r1", "call_not-a-valid-id".into()),
        (&w.a, "stranger", w.c1.to_string()),
        (&w.a, "owner-east", w.c1.to_string()),
        // A rep sees their own call but may not put it under legal hold.
        (&w.a, "r1", format!("{}#hold-only", w.c1)),
    ];
    for (tenant, who, id) in &hidden {
        let (id, hold_only) = match id.split_once("#hold-only") {
            Some((id, _)) => (id.to_owned(), true),
            None => (id.clone(), false),
        };
        let hold = format!("/v1/calls/{id}/legal-hold");
        let on = Some(json!({"legal_hold": true}));
        w.expect_the_one_404(tenant, who, "PUT", &hold, on).await;
        if !hold_only {
            let path = format!("/v1/calls/{id}");
            w.expect_the_one_404(tenant, who, "DELETE", &path, None)
                .await;
        }
    }
    for id in [&w.c1, &w.c2, &w.c3] {
        let call = stored_call(&w, &w.a, id).await;
        assert!(call.status != CallStatus::Deleted && !call.legal_hold);
    }

    // The team's owner holds c2; its rep deletes their own c1.
    let (status, _) = w.set_legal_hold("owner", &w.c2, true).await;
    assert_eq!(status, StatusCode::OK);
    assert!(stored_call(&w, &w.a, &w.c2).await.legal_hold);
    let (status, _) = w.delete_call_as("r1", &w.c1).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        stored_call(&w, &w.a, &w.c1).await.status,
        CallStatus::Deleted
    );
    let path = format!("/v1/calls/{}", w.c1);
    for (who, method) in [("r1", "GET"), ("manager", "GET"), ("r1", "DELETE")] {
        w.expect_the_one_404(&w.a, who, method, &path, None).await;
    }
    let listing = format!("/v1/calls?team_id={}", w.west);
    let (_, text) = w.send_as("manager", "GET", &listing, None).await;
    assert!(
        !text.contains(w.c1.as_str()),
        "a deleted call leaves listings"
    );
    assert!(text.contains(w.c2.as_str()));

    // The held c2 cannot be deleted by anyone who may change it (409, nothing changes) until
    // its hold is lifted; it stays visible to the owner who can lift it.
    for who in ["r2", "manager", "owner"] {
        let (status, text) = w.delete_call_as(who, &w.c2).await;
        assert_eq!(status, StatusCode::CONFLICT, "{who}: {text}");
        assert!(text.contains("legal hold"), "{text}");
    }
    let call = stored_call(&w, &w.a, &w.c2).await;
    assert!(call.legal_hold && call.status != CallStatus::Deleted);
    let held = format!("/v1/calls/{}", w.c2);
    w.expect("owner", "GET", &held, None, StatusCode::OK).await;
    let (status, _) = w.set_legal_hold("owner", &w.c2, false).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = w.delete_call_as("r2", &w.c2).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

pub async fn views_of_calls_are_recorded_as_usage_and_refused_reads_are_not<B: Backend>() {
    use callcoach_shared::ports::UsageLog;
    let w = world::<B>().await;
    for suffix in ["", "/transcript", "/analysis"] {
        let path = format!("/v1/calls/{}{suffix}", w.c1);
        w.expect("r1", "GET", &path, None, StatusCode::OK).await;
    }
    let c2 = format!("/v1/calls/{}", w.c2);
    w.expect("r1", "GET", &c2, None, StatusCode::NOT_FOUND)
        .await;
    let views = w
        .api
        .ports
        .store()
        .views_of_user(
            &w.a,
            &user("r1"),
            SystemClock.now(),
            &PageRequest::first(100).unwrap(),
        )
        .await
        .unwrap()
        .items;
    let mut seen: Vec<(&str, &str)> = views
        .iter()
        .map(|v| (v.call_id.as_str(), v.view.as_str()))
        .collect();
    seen.sort();
    let c1 = w.c1.as_str();
    assert_eq!(seen, [(c1, "analysis"), (c1, "call"), (c1, "transcript")]);
    assert!(
        views
            .iter()
            .all(|v| v.expires_at() - v.at == time::Duration::days(396))
    );
    let (_, text) = w.export_as(&w.a, "r1", "user").await;
    assert_eq!(json_of(&text)["counts"]["usage_events"], 3);
}
