//! Progress, prep cards, practice and goals.

use super::*;

/// r1's progress, the record most of these tests read.
const R1_PROGRESS: &str = "/v1/reps/r1/progress";

pub async fn rep_progress_is_visible_to_the_rep_and_their_managers_only<B: Backend>() {
    let w = world::<B>().await;
    // (tenant, caller, status, calls seen). In tenant b, "r1" is also a rep, of b's own team:
    // b's owner sees b's record for r1, which holds none of tenant a's calls.
    for (tenant, who, expected, calls) in [
        (&w.a, "r1", StatusCode::OK, 1),
        (&w.a, "manager", StatusCode::OK, 1),
        (&w.a, "owner", StatusCode::OK, 1),
        (&w.a, "r2", StatusCode::NOT_FOUND, 0),
        (&w.a, "owner-east", StatusCode::NOT_FOUND, 0),
        (&w.b, "owner-b", StatusCode::OK, 0),
        (&w.b, "stranger", StatusCode::NOT_FOUND, 0),
    ] {
        let (status, body) = as_user(&w, tenant, who, "GET", R1_PROGRESS, None).await;
        assert_eq!(status, expected, "{who}");
        if status == StatusCode::OK {
            let progress = json_of(&body);
            assert_eq!(
                progress["calls"].as_array().unwrap().len(),
                calls,
                "{who}: {body}"
            );
            assert_eq!(progress["averages"]["last_5_calls"]["calls"], calls);
        } else {
            assert_eq!(body, NOT_FOUND_BODY);
        }
    }
}

/// A deleted call's scores and goals leave its rep's progress at once (entries, averages).
pub async fn a_deleted_calls_entry_leaves_the_reps_progress<B: Backend>() {
    let w = world::<B>().await;
    let calls_seen = || async {
        let progress = json_of(
            &w.expect("r1", "GET", R1_PROGRESS, None, StatusCode::OK)
                .await,
        );
        (
            progress["calls"].as_array().unwrap().len(),
            progress["averages"]["last_5_calls"]["calls"]
                .as_u64()
                .unwrap(),
        )
    };
    assert_eq!(calls_seen().await, (1, 1));
    let (status, body) = w.delete_call_as("r1", &w.c1).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(calls_seen().await, (0, 0));

    // Expired and purged by the reaper (which cannot read progress): never shown again, and
    // gone from the stored record at the first read.
    let expiring = call(&w.api, &w.a, &w.west, "r1").await;
    score(&w.api, expiring.clone()).await;
    assert_eq!(calls_seen().await, (1, 1));
    callcoach_shared::ports::RetentionStore::delete_call_items(
        w.api.ports.store(),
        &w.a,
        &expiring.call_id,
    )
    .await
    .unwrap();
    assert_eq!(calls_seen().await, (0, 0));
    let stored = callcoach_shared::usecases::progress::load_progress(
        w.api.ports.store(),
        w.api.ports.envelope(),
        &w.a,
        &user("r1"),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(stored.entries.is_empty(), "the record no longer holds it");
}

/// A manager sees a rep's progress from the teams they manage only: r1 is in west and in
/// north, with a scored call in each; west's manager sees west's, north's manager north's.
pub async fn rep_progress_shows_each_manager_only_the_teams_they_manage<B: Backend>() {
    let w = world::<B>().await;
    let north = team(
        &w.api,
        &w.a,
        "owner-north",
        &[("mgr-north", Role::Manager), ("r1", Role::Rep)],
    )
    .await;
    let north_call = call(&w.api, &w.a, &north, "r1").await;
    score(&w.api, north_call.clone()).await;
    let seen = |who: &'static str| {
        let w = &w;
        async move {
            let progress = json_of(
                &w.expect(who, "GET", R1_PROGRESS, None, StatusCode::OK)
                    .await,
            );
            let calls: Vec<String> = progress["calls"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["call_id"].as_str().unwrap().to_owned())
                .collect();
            (
                calls,
                progress["averages"]["all_kept_calls"]["calls"].clone(),
            )
        }
    };
    assert_eq!(seen("r1").await.0.len(), 2, "the rep sees all of theirs");
    assert_eq!(seen("manager").await, (vec![w.c1.to_string()], json!(1)));
    assert_eq!(
        seen("mgr-north").await,
        (vec![north_call.call_id.to_string()], json!(1))
    );
    assert_eq!(
        seen("owner-north").await.0,
        vec![north_call.call_id.to_string()]
    );
}

pub async fn prep_cards_draw_on_the_calls_the_caller_may_see<B: Backend>() {
    let w = world::<B>().await;
    // c1 (r1) is scored by world(); c2 (r2) raises a price objection with the same company.
    let c2 = stored_call(&w, &w.a, &w.c2).await;
    score_saying(&w.api, c2, "Honestly it is too expensive for us this year.").await;
    let playbook = json!({
        "value_propositions": ["Ramp new reps in half the time"],
        "objection_handling": [{"objection": "price", "response": "Tie the cost to hours saved per rep."}]
    });
    let team_playbook = format!("/v1/teams/{}/playbook", w.west);
    let (status, _) = w
        .send_as("owner", "PUT", &team_playbook, Some(playbook))
        .await;
    assert_eq!(status, StatusCode::OK);

    let card = |who: &'static str, tenant: TenantId, domain: &'static str| {
        let path = format!("/v1/prep-cards?team_id={}&company_domain={domain}", w.west);
        let w = &w;
        async move { as_user(w, &tenant, who, "GET", &path, None).await }
    };
    let (status, text) = card("manager", w.a.clone(), "INITECH.example").await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let body = json_of(&text);
    assert_eq!(body["calls_considered"], 2);
    assert!(
        body["objections"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["objection"] == "price" && o["call_id"] == w.c2.as_str())
    );
    assert_eq!(
        body["objection_responses"][0]["response"],
        "Tie the cost to hours saved per rep."
    );
    assert_eq!(
        body["value_propositions"][0],
        "Ramp new reps in half the time"
    );
    assert!(
        body["people_met"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p == "Sam")
    );
    assert!(body["last_summary"].is_string());

    // A rep sees only their own calls in it: c1 has no price objection.
    let (status, text) = card("r1", w.a.clone(), "initech.example").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json_of(&text)["calls_considered"], 1);
    assert!(!text.contains(w.c2.as_str()) && !text.contains("too expensive"));

    // Another company: an empty card. Outsiders: the one 404.
    let (_, text) = card("manager", w.a.clone(), "other.example").await;
    assert_eq!(json_of(&text)["calls_considered"], 0);
    for (who, tenant) in [
        ("owner-east", w.a.clone()),
        ("stranger", w.a.clone()),
        ("owner-b", w.b.clone()),
    ] {
        let answer = card(who, tenant, "initech.example").await;
        assert_eq!(answer, the_one_404(), "{who}");
    }
}

pub async fn reps_practise_answers_to_their_highlights_and_the_team_reads_them<B: Backend>() {
    let w = world::<B>().await;
    let analysis_path = format!("/v1/calls/{}/analysis", w.c1);
    let (_, text) = w.send_as("r1", "GET", &analysis_path, None).await;
    let highlight = json_of(&text)["highlights"][0]["highlight_id"]
        .as_str()
        .expect("c1 has a highlight")
        .to_owned();
    let path = format!("/v1/calls/{}/practice", w.c1);
    let answer = "Understood on the freeze: what does waiting until April cost your ramp plan?";
    let practice =
        |highlight: &str, text: &str| Some(json!({"highlight_id": highlight, "text": text}));

    let (status, text) = w
        .send_as("r1", "POST", &path, practice(&highlight, answer))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    // The manager sees the call but is not its rep; r2 may not see the call.
    for who in ["manager", "r2"] {
        w.expect_the_one_404(&w.a, who, "POST", &path, practice(&highlight, "x"))
            .await;
    }
    let unknown = "hl_00000000000000000000000000000000";
    let (status, text) = w.send_as("r1", "POST", &path, practice(unknown, "x")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(text.contains("highlight_id"));
    let long = "a".repeat(2001);
    let (status, _) = w
        .send_as("r1", "POST", &path, practice(&highlight, &long))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let listed = json_of(
        &w.expect("manager", "GET", &path, None, StatusCode::OK)
            .await,
    );
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert_eq!(listed["items"][0]["text"], answer);
    assert_eq!(listed["items"][0]["author"], "r1");
    w.expect("r2", "GET", &path, None, StatusCode::NOT_FOUND)
        .await;

    // The rep's export carries it.
    let (_, text) = w.export_as(&w.a, "r1", "user").await;
    assert_eq!(json_of(&text)["counts"]["practice_responses"], 1);
}

pub async fn reps_mark_their_own_current_goals_complete<B: Backend>() {
    let w = world::<B>().await;
    let (_, text) = w.send_as("r1", "GET", R1_PROGRESS, None).await;
    let goal = json_of(&text)["current_goals"][0]["goal_id"]
        .as_str()
        .expect("c1 set goals")
        .to_owned();
    let path = format!("/v1/reps/r1/goals/{goal}/complete");
    for who in ["manager", "owner", "r2"] {
        w.expect_the_one_404(&w.a, who, "POST", &path, None).await;
    }
    let unknown = "/v1/reps/r1/goals/goal_00000000000000000000000000000000/complete";
    w.expect("r1", "POST", unknown, None, StatusCode::NOT_FOUND)
        .await;
    w.expect("r1", "POST", &path, None, StatusCode::OK).await;
    // Twice is the same as once.
    w.send_as("r1", "POST", &path, None).await;
    let (_, text) = w.send_as("manager", "GET", R1_PROGRESS, None).await;
    assert_eq!(json_of(&text)["completed_goals"], json!([goal]));
}
