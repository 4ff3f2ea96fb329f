// The route suite, included by `routes.rs` (in-memory fakes) and `routes_on_aws.rs` (the real
// adapters against the local AWS stand-in). Each defines `TestPorts`, `fresh_ports()`,
// `fresh_tenants()` and `queued_jobs()`; everything else is shared, so every test here runs on
// both.

use std::sync::Arc;

use api::error::NOT_FOUND_BODY;
use api::{Adapters, Api, Settings, router};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use callcoach_shared::domain::SCHEMA_VERSION;
use callcoach_shared::domain::call::{Call, CallStatus, CallType};
use callcoach_shared::domain::org::{Membership, Role, Team};
use callcoach_shared::domain::playbook::Playbook;
use callcoach_shared::ids::{CallId, TeamId, TenantId, UserId};
use callcoach_shared::parse::parse_vtt;
use callcoach_shared::ports::{
    CallRepository, Clock, IdGenerator, TeamRepository, TenantRepository,
};
use callcoach_shared::scoring::{ScoringRequest, deterministic_analysis};
use callcoach_shared::system::{RandomIds, SystemClock};
use callcoach_shared::usecases::calls::{NewCall, create_call};
use callcoach_shared::usecases::documents::DocumentVault;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use callcoach_shared::domain::audit::AuditEvent;
use callcoach_shared::ports::{AuditLog, MAX_PAGE_SIZE, PageRequest};

/// Delivers `bodies` to the api function as the export-jobs queue's event source does: one
/// SQS batch through the function's entry point. Fails on any reported item failure.
async fn deliver_export_jobs(w: &World, bodies: &[String]) -> usize {
    let records: Vec<Value> = bodies
        .iter()
        .enumerate()
        .map(|(i, body)| json!({"messageId": format!("job-{i}"), "body": body, "eventSource": "aws:sqs"}))
        .collect();
    let event = lambda_runtime::LambdaEvent::new(
        json!({ "Records": records }),
        callcoach_tests::lambda_context(),
    );
    let answer = api::entry::handle(&w.api, event).await.unwrap();
    assert_eq!(answer["batchItemFailures"], json!([]), "{answer}");
    bodies.len()
}

/// Runs the export jobs queued so far; how many there were.
async fn run_export_jobs(w: &World) -> usize {
    let bodies = queued_export_jobs(w).await;
    deliver_export_jobs(w, &bodies).await
}

/// Delivers the job `answer` names once more (SQS delivers at least once).
async fn run_export_jobs_again(w: &World, answer: &Value) -> usize {
    let body = json!({"type": "export_workspace", "tenant_id": w.a.as_str(), "export_id": answer["export_id"]});
    deliver_export_jobs(w, &[body.to_string()]).await
}

/// Every audit event of both tenants, oldest first, read through the audit port.
async fn audit_events(w: &World) -> Vec<AuditEvent> {
    let mut events = Vec::new();
    for tenant in [&w.a, &w.b] {
        let mut newest_first = Vec::new();
        let mut request = PageRequest::first(MAX_PAGE_SIZE).unwrap();
        loop {
            let page = w.api.ports.store.list(tenant, &request).await.unwrap();
            newest_first.extend(page.items);
            match page.next {
                Some(cursor) => request.cursor = Some(cursor),
                None => break,
            }
        }
        events.extend(newest_first.into_iter().rev());
    }
    events.sort_by_key(|e| e.at);
    events
}

struct World {
    api: Arc<Api<TestPorts>>,
    a: TenantId,
    b: TenantId,
    west: TeamId,
    east: TeamId,
    /// (name, call): r1's scored call, r2's call, r3's call in east, tenant b's call.
    c1: CallId,
    c2: CallId,
    c3: CallId,
    cb: CallId,
}

fn user(name: &str) -> UserId {
    UserId::parse(name).unwrap()
}

async fn team(
    api: &Api<TestPorts>,
    tenant: &TenantId,
    owner: &str,
    members: &[(&str, Role)],
) -> TeamId {
    let team = Team {
        schema_version: SCHEMA_VERSION,
        tenant_id: tenant.clone(),
        team_id: RandomIds.mint(),
        name: "t".into(),
        created_at: SystemClock.now(),
    };
    let store = &api.ports.store;
    store
        .create_team(
            &team,
            &Membership {
                tenant_id: tenant.clone(),
                team_id: team.team_id.clone(),
                user_id: user(owner),
                role: Role::Owner,
            },
        )
        .await
        .unwrap();
    for (name, role) in members {
        store
            .put_membership(&Membership {
                tenant_id: tenant.clone(),
                team_id: team.team_id.clone(),
                user_id: user(name),
                role: *role,
            })
            .await
            .unwrap();
    }
    team.team_id
}

async fn call(api: &Api<TestPorts>, tenant: &TenantId, team: &TeamId, rep: &str) -> Call {
    let new = NewCall {
        team_id: team.clone(),
        rep_id: user(rep),
        title: "Call".into(),
        call_type: CallType::Discovery,
        company_domain: Some("initech.example".into()),
        buyer_persona: None,
    };
    create_call(&api.ports.store, &SystemClock, &RandomIds, tenant, new)
        .await
        .unwrap()
}

/// Gives a call a stored transcript and analysis, as the pipeline would.
async fn score(api: &Api<TestPorts>, call: Call) {
    score_saying(api, call, "It is frozen.").await
}

/// As [`score`], with the customer's answer chosen by the test.
async fn score_saying(api: &Api<TestPorts>, mut call: Call, reply: &str) {
    let vtt = format!(
        "WEBVTT\n\n00:00.000 --> 00:03.000\n<v Dana>What is your budget?\n\n00:03.500 --> 00:06.000\n<v Sam>{reply}\n"
    );
    let transcript = parse_vtt(&vtt).unwrap();
    let vault = DocumentVault {
        repository: &api.ports.store,
        blobs: &api.ports.blobs,
        envelope: &api.ports.envelope,
    };
    vault
        .put_transcript(&call.tenant_id, &call.call_id, 1, &transcript)
        .await
        .unwrap();
    let playbook = Playbook::default();
    let analysis = deterministic_analysis(
        ScoringRequest {
            tenant_id: &call.tenant_id,
            call_id: &call.call_id,
            transcript_version: 1,
            transcript: &transcript,
            playbook: &playbook,
            call_type: call.call_type,
            rep_override: None,
            rep_name: None,
        },
        &RandomIds,
        SystemClock.now(),
    );
    vault.put_analysis(&analysis).await.unwrap();
    callcoach_shared::usecases::progress::record_progress(
        &api.ports.store,
        &api.ports.envelope,
        &call.rep_id,
        &call.team_id,
        &analysis,
    )
    .await
    .unwrap();
    call.transcript_version = 1;
    call.status = CallStatus::Scored;
    api.ports.store.save_call(&mut call).await.unwrap();
}

async fn world() -> World {
    world_with(Settings::default()).await
}

async fn world_with(settings: Settings) -> World {
    let ports = fresh_ports().await;
    let api = Arc::new(Api { ports, settings });
    let (a, b) = fresh_tenants();
    // Each workspace as provisioning leaves it: its record and one admin in no team.
    for (tenant, admin) in [(&a, "admin"), (&b, "admin-b")] {
        callcoach_shared::usecases::workspace::provision(
            &api.ports.store,
            tenant,
            &user(admin),
            SystemClock.now(),
            callcoach_shared::usecases::workspace::Provisioner::Operator,
        )
        .await
        .unwrap();
    }
    let west = team(
        &api,
        &a,
        "owner",
        &[
            ("manager", Role::Manager),
            ("r1", Role::Rep),
            ("r2", Role::Rep),
        ],
    )
    .await;
    let east = team(&api, &a, "owner-east", &[("r3", Role::Rep)]).await;
    let bteam = team(&api, &b, "owner-b", &[("r1", Role::Rep)]).await;
    let c1 = call(&api, &a, &west, "r1").await;
    score(&api, c1.clone()).await;
    let c2 = call(&api, &a, &west, "r2").await;
    let c3 = call(&api, &a, &east, "r3").await;
    let cb = call(&api, &b, &bteam, "r1").await;
    World {
        api,
        a,
        b,
        west,
        east,
        c1: c1.call_id,
        c2: c2.call_id,
        c3: c3.call_id,
        cb: cb.call_id,
    }
}

fn request(method: &str, path: &str, claims: Option<Value>, body: Option<String>) -> Request<Body> {
    callcoach_local_router::apigw::request(method, path, claims, body)
}

fn claims(tenant: &TenantId, who: &str) -> Option<Value> {
    Some(
        json!({"sub": who, "custom:tenant_id": tenant.as_str(), "email": format!("{who}@example.com")}),
    )
}

async fn send(w: &World, req: Request<Body>) -> (StatusCode, String) {
    let response = router(Arc::clone(&w.api)).oneshot(req).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(bytes.to_vec()).unwrap())
}

async fn as_user(
    w: &World,
    tenant: &TenantId,
    who: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, String) {
    send(
        w,
        request(
            method,
            path,
            claims(tenant, who),
            body.map(|b| b.to_string()),
        ),
    )
    .await
}

#[tokio::test]
async fn every_call_route_answers_the_same_404_for_what_the_caller_may_not_see() {
    let w = world().await;
    let missing: CallId = RandomIds.mint();
    // (method, suffix, body, whether the call's own rep may): a rep does not choose which
    // speaker is scored as the rep (their own score would follow their choice).
    let routes: [(&str, &str, Option<Value>, bool); 5] = [
        ("GET", "", None, true),
        ("GET", "/transcript", None, true),
        ("GET", "/analysis", None, true),
        ("PUT", "/rep-speaker", Some(json!({"speaker": "Dana"})), false),
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
            let (status, text) = as_user(&w, tenant, who, method, &path, body.clone()).await;
            if visible && (who != "r1" || *reps_may) {
                assert!(
                    status.is_success(),
                    "{who} {method} {path}: {status} {text}"
                );
            } else {
                assert_eq!(status, StatusCode::NOT_FOUND, "{who} {method} {path}");
                assert_eq!(
                    text, NOT_FOUND_BODY,
                    "{who} {method} {path}: 404 bodies must be identical"
                );
            }
        }
    }
}

#[tokio::test]
async fn identity_comes_only_from_verified_claims() {
    let w = world().await;
    let path = format!("/v1/calls/{}", w.c1);
    for claims in [
        None,
        Some(json!({})),
        Some(json!({"sub": "r1"})),
        Some(json!({"custom:tenant_id": "tenant-a"})),
        Some(json!({"sub": "r1", "custom:tenant_id": "a/b"})),
    ] {
        let (status, body) = send(&w, request("GET", &path, claims.clone(), None)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{claims:?}");
        assert!(body.contains("\"status\":401"));
    }
    // A tenant or role in the body is not an identity: unknown fields are refused.
    let (status, body) = as_user(
        &w,
        &w.a,
        "r1",
        "POST",
        "/v1/teams",
        Some(json!({"name": "x", "tenant_id": "tenant-b"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("unknown field `tenant_id`"), "{body}");
    let (status, body) = as_user(
        &w,
        &w.a,
        "r1",
        "PUT",
        &format!("/v1/teams/{}/members/r1", w.west),
        Some(json!({"role": "owner", "owner_id": "r1"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

#[tokio::test]
async fn limits_answer_413_and_400_naming_the_problem() {
    let w = world().await;
    let big = json!({"name": "x".repeat(70 * 1024)}).to_string();
    let (status, _) = send(
        &w,
        request("POST", "/v1/teams", claims(&w.a, "r1"), Some(big)),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let deep = format!(
        "{}{}",
        "{\"a\":".repeat(40),
        "1".to_owned() + &"}".repeat(40)
    );
    let (status, body) = send(
        &w,
        request("POST", "/v1/teams", claims(&w.a, "r1"), Some(deep)),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("nested deeper"), "{body}");
    let (status, body) = as_user(
        &w,
        &w.a,
        "manager",
        "GET",
        &format!("/v1/calls?team_id={}&limit=101", w.west),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("limit"), "{body}");
    let (status, body) = as_user(&w, &w.a, "r1", "POST", "/v1/teams", Some(json!({}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("missing field `name`"), "{body}");
    assert!(!body.contains("line"), "no parser internals: {body}");
}

#[tokio::test]
async fn listing_respects_roles_tenants_and_pages() {
    let w = world().await;
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
#[tokio::test]
async fn a_reps_listing_is_a_query_by_rep_with_sealed_cursors() {
    use base64::Engine;
    let w = world().await;
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
            let (status, body) = as_user(w, &w.a, who, "GET", &format!("/v1/calls?team_id={}&{query}", w.west), None).await;
            (status, serde_json::from_str::<Value>(&body).unwrap_or(Value::Null), body)
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
        for secret in colleague_calls.iter().map(String::as_str).chain([w.a.as_str(), "CALL#", "gsi2"]) {
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
    assert_eq!(status, StatusCode::BAD_REQUEST, "the rep's cursor in the team listing");
    let (status, _, _) = list("manager", format!("rep_id=r2&cursor={}", cursors[0])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "r1's cursor in r2's listing");
    // A manager filtering by rep pages through that rep's calls alone.
    let (status, page, body) = list("manager", "rep_id=r2&limit=2".into()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert!(items.iter().all(|c| c["rep_id"] == "r2"));
}

/// Per-workspace quotas: over a limit the API answers 429 with `Retry-After` (the seconds
/// left in the period) and counts nothing; another workspace is unaffected; a workspace's own
/// limits (set by an operator) replace the deployment's.
#[tokio::test]
async fn quotas_answer_429_with_retry_after_per_workspace() {
    use callcoach_shared::usecases::quota::Quotas;
    use callcoach_shared::usecases::workspace::{Change, update_workspace};
    let w = world_with(Settings {
        quotas: Quotas {
            calls_per_day: 2,
            upload_bytes_per_month: 10_000,
            llm_tokens_per_month: 1_000,
            workspace_exports_per_day: 1,
        },
        ..Settings::default()
    })
    .await;
    let new_call = |team: &TeamId, bytes: u64| {
        json!({"team_id": team, "title": "Intro", "call_type": "discovery", "file_name": "intro.vtt", "content_type": "text/vtt", "content_length": bytes})
    };
    let create = |tenant: &TenantId, who: &str, body: Value| {
        let (tenant, who) = (tenant.clone(), who.to_owned());
        let w = &w;
        async move {
            let req = request("POST", "/v1/calls", claims(&tenant, &who), Some(body.to_string()));
            let response = router(Arc::clone(&w.api)).oneshot(req).await.unwrap();
            let status = response.status();
            let retry_after = response
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().parse::<u64>().unwrap());
            let bytes = response.into_body().collect().await.unwrap().to_bytes();
            (status, retry_after, String::from_utf8(bytes.to_vec()).unwrap())
        }
    };
    for _ in 0..2 {
        let (status, _, body) = create(&w.a, "r1", new_call(&w.west, 1_000)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (status, retry_after, body) = create(&w.a, "r1", new_call(&w.west, 1_000)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    let retry_after = retry_after.expect("a Retry-After header");
    assert!((1..=86_400).contains(&retry_after), "{retry_after}");
    assert!(body.contains("calls"), "{body}");
    // Another workspace has its own counters; there a file over the month's bytes is refused.
    let bteam = w.api.ports.store.memberships_of_user(&w.b, &user("r1")).await.unwrap()[0]
        .team_id
        .clone();
    for _ in 0..3 {
        let (status, _, body) = create(&w.b, "r1", new_call(&bteam, 20_000)).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
        assert!(body.contains("upload_bytes"), "{body}");
    }
    // Refused requests took none of the day's two calls.
    for _ in 0..2 {
        let (status, _, body) = create(&w.b, "r1", new_call(&bteam, 1_000)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    // The operator gives workspace a limits of its own.
    update_workspace(&w.api.ports.store, &w.a, |tenant| {
        tenant.quotas = Some(Quotas {
            calls_per_day: 10,
            ..Quotas::default()
        });
        Ok::<_, callcoach_shared::ports::StoreError>(Change::Write(()))
    })
    .await
    .unwrap();
    let (status, _, body) = create(&w.a, "r1", new_call(&w.west, 1_000)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // One workspace export a day here: the second is refused with the wait, and queues nothing.
    let export = || as_user(&w, &w.b, "admin-b", "POST", "/v1/exports", Some(json!({"scope": "workspace"})));
    assert_eq!(export().await.0, StatusCode::ACCEPTED);
    let (status, body) = export().await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(body.contains("workspace_exports"), "{body}");
    assert_eq!(queued_export_jobs(&w).await.len(), 1);
}


#[tokio::test]
async fn teams_members_and_calls_happy_paths_and_role_limits() {
    let w = world().await;
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

#[tokio::test]
async fn setting_the_rep_speaker_rescoring_without_retranscribing() {
    let w = world().await;
    let path = format!("/v1/calls/{}/rep-speaker", w.c1);
    // The call's own rep may not pick whose talk is scored as theirs.
    let (status, text) = as_user(&w, &w.a, "r1", "PUT", &path, Some(json!({"speaker": "Sam"}))).await;
    assert_eq!((status, text.as_str()), (StatusCode::NOT_FOUND, NOT_FOUND_BODY));
    assert_eq!(queued_jobs(&w).await, 0);
    let (status, body) = as_user(
        &w,
        &w.a,
        "manager",
        "PUT",
        &path,
        Some(json!({"speaker": "Sam"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["call"]["rep_speaker"],
        "Sam"
    );
    assert_eq!(queued_jobs(&w).await, 1);
    let (status, body) = as_user(
        &w,
        &w.a,
        "manager",
        "PUT",
        &path,
        Some(json!({"speaker": "Nobody"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("speaker"));
    let (status, body) = as_user(&w, &w.a, "r1", "GET", &format!("/v1/calls/{}", w.c1), None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("overall_score"));

    // While a job scores the call, a new speaker queues a re-score of its own (the running
    // job's analysis is for the old speaker).
    let mut scoring = w.api.ports.store.get_call(&w.a, &w.c1).await.unwrap().unwrap();
    scoring.status = CallStatus::Scoring;
    w.api.ports.store.save_call(&mut scoring).await.unwrap();
    let (status, body) = as_user(&w, &w.a, "manager", "PUT", &path, Some(json!({"speaker": "Dana"}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["rescoring"], true);
    assert!(queued_jobs(&w).await >= 1, "a re-score is queued");
    let stored = w.api.ports.store.get_call(&w.a, &w.c1).await.unwrap().unwrap();
    assert_eq!(
        (stored.status, stored.rep_speaker.as_deref()),
        (CallStatus::Scoring, Some("Dana"))
    );
}

#[tokio::test]
async fn a_rescore_request_queues_a_job_of_its_own_each_time() {
    let w = world().await;
    let path = format!("/v1/calls/{}/rescore", w.c1);
    let (status, text) = as_user(&w, &w.a, "r1", "POST", &path, None).await;
    assert_eq!((status, text.as_str()), (StatusCode::NOT_FOUND, NOT_FOUND_BODY));
    assert_eq!(queued_jobs(&w).await, 0);
    let before = w.api.ports.store.get_call(&w.a, &w.c1).await.unwrap().unwrap();
    for _ in 0..2 {
        let (status, body) = as_user(&w, &w.a, "manager", "POST", &path, None).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["rescoring"], true);
    }
    let after = w.api.ports.store.get_call(&w.a, &w.c1).await.unwrap().unwrap();
    assert_eq!(after.rescore_requests, before.rescore_requests + 2);
    // Under legal hold the analysis stays as it is: neither a re-score nor a new speaker.
    let hold = format!("/v1/calls/{}/legal-hold", w.c1);
    let (status, body) = as_user(&w, &w.a, "owner", "PUT", &hold, Some(json!({"legal_hold": true}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = as_user(&w, &w.a, "manager", "POST", &path, None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body.contains("legal hold"), "{body}");
    let speaker = format!("/v1/calls/{}/rep-speaker", w.c1);
    let (status, _) = as_user(&w, &w.a, "manager", "PUT", &speaker, Some(json!({"speaker": "Sam"}))).await;
    assert_eq!(status, StatusCode::CONFLICT);
    // The call's hold lifted, the workspace's own hold refuses it the same way.
    let (status, _) = as_user(&w, &w.a, "owner", "PUT", &hold, Some(json!({"legal_hold": false}))).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = as_user(&w, &w.a, "admin", "PUT", "/v1/workspace/retention", Some(json!({"legal_hold": true}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = as_user(&w, &w.a, "manager", "POST", &path, None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body.contains("workspace is under legal hold"), "{body}");
    // A call with no transcript yet has nothing to score again.
    let new_call = json!({"team_id": w.west.as_str(), "title": "Intro", "call_type": "discovery", "file_name": "a.vtt", "content_type": "text/vtt", "content_length": 10});
    let (status, body) = as_user(&w, &w.a, "r1", "POST", "/v1/calls", Some(new_call)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let fresh = serde_json::from_str::<Value>(&body).unwrap()["call"]["call_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) = as_user(&w, &w.a, "manager", "POST", &format!("/v1/calls/{fresh}/rescore"), None).await;
    assert_eq!(status, StatusCode::CONFLICT);
    // Looked at once: on the local AWS a look hides what it saw.
    assert_eq!(queued_jobs(&w).await, 2, "one job per request, none for the refused one");
}

/// The OpenAPI document and the router agree: every documented operation is in the route
/// table and served (it answers 401 without identity, not the fallback 404), every route is
/// documented, and every request example is accepted by the real handler's body parser.
#[tokio::test]
async fn openapi_document_matches_the_router() {
    let doc: Value = serde_json::from_str(include_str!("../../openapi.json")).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let mut documented = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.push((method.to_uppercase(), path.clone()));
        }
    }
    let mut served: Vec<(String, String)> = api::ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    documented.sort();
    served.sort();
    assert_eq!(
        documented, served,
        "documented routes == routes in the table"
    );

    let w = world().await;
    for (method, path) in &served {
        let concrete = path
            .replace("{team_id}", w.west.as_str())
            .replace("{call_id}", w.c1.as_str())
            .replace("{user_id}", "r1");
        let (status, _) = send(&w, request(method, &concrete, None, None)).await;
        let expected = if path == "/v1/health" {
            StatusCode::OK
        } else {
            StatusCode::UNAUTHORIZED
        };
        assert_eq!(status, expected, "{method} {path} is not served");
    }
    // Examples parse with the handlers' strict body rules (unknown fields refused).
    let schemas = &doc["components"]["schemas"];
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let Some(example) = op.pointer("/requestBody/content/application~1json/example") else {
                continue;
            };
            let schema = op
                .pointer("/requestBody/content/application~1json/schema/$ref")
                .unwrap()
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap();
            let allowed = schemas[schema]["properties"].as_object().unwrap();
            for key in example.as_object().unwrap().keys() {
                assert!(
                    allowed.contains_key(key),
                    "{method} {path}: example field {key} not in {schema}"
                );
            }
            for required in schemas[schema]["required"].as_array().unwrap() {
                assert!(
                    example.get(required.as_str().unwrap()).is_some(),
                    "{method} {path}: example lacks {required}"
                );
            }
        }
    }
}

/// The sample request in `events/` converts and is handled: the call it names does not exist,
/// so the answer is the one 404.
#[tokio::test]
async fn sample_api_event_is_handled() {
    let w = world().await;
    let request =
        lambda_http::request::from_str(include_str!("../../../../events/api-get-call.json")).unwrap();
    let (parts, body) = request.into_parts();
    let (status, text) = send(&w, Request::from_parts(parts, Body::from(body.to_vec()))).await;
    assert_eq!(
        (status, text.as_str()),
        (StatusCode::NOT_FOUND, NOT_FOUND_BODY)
    );
}

/// The function's one entry point tells its two kinds of invocation apart: the sample HTTP
/// API event is answered as API Gateway expects (the one 404, as a v2 response), an SQS batch
/// goes to the export jobs (a message that is no export job is reported failed, so it is
/// received again and reaches the DLQ), and anything else is an error, not a panic.
#[tokio::test]
async fn the_entry_point_serves_http_events_and_export_job_batches() {
    let w = world().await;
    let context = callcoach_tests::lambda_context;
    let http: Value = serde_json::from_str(include_str!("../../../../events/api-get-call.json")).unwrap();
    let answer = api::entry::handle(&w.api, lambda_runtime::LambdaEvent::new(http, context()))
        .await
        .unwrap();
    assert_eq!(answer["statusCode"], 404, "{answer}");
    assert_eq!(answer["body"], NOT_FOUND_BODY);

    // The sample batch: a job of no workspace here (done, nothing to do) and a poison message.
    let batch: Value = serde_json::from_str(include_str!("../../../../events/api-export-job.json")).unwrap();
    let answer = api::entry::handle(&w.api, lambda_runtime::LambdaEvent::new(batch, context()))
        .await
        .unwrap();
    assert_eq!(
        answer["batchItemFailures"],
        json!([{"itemIdentifier": "5b1f7d0e-6a53-4a41-8d6e-0c2f9e1a7b02"}])
    );
    let stray = json!({"Records": [{"messageId": "m-1", "body": "{\"type\":\"score_call\"}"}]});
    let answer = api::entry::handle(&w.api, lambda_runtime::LambdaEvent::new(stray, context()))
        .await
        .unwrap();
    assert_eq!(answer["batchItemFailures"], json!([{"itemIdentifier": "m-1"}]));

    for odd in [json!({"Records": "nope"}), json!(42), json!({"hello": "world"})] {
        let answer =
            api::entry::handle(&w.api, lambda_runtime::LambdaEvent::new(odd.clone(), context())).await;
        assert!(answer.is_err(), "{odd}: {answer:?}");
    }
}

/// Walks the route table: every mutating route writes an audit event (who, tenant, action,
/// object, outcome, request id), whatever its outcome; reads write none.
#[tokio::test]
async fn every_mutating_route_writes_an_audit_event() {
    let w = world().await;
    for (method, route) in api::ROUTES {
        // Route events only: a use case may add its own system event (workspace shredding).
        let by_users = |events: Vec<callcoach_shared::domain::audit::AuditEvent>| {
            events
                .into_iter()
                .filter(|e| e.actor_kind == "user")
                .collect::<Vec<_>>()
        };
        let before = by_users(audit_events(&w).await).len();
        let path = route
            .replace("{team_id}", w.west.as_str())
            .replace("{call_id}", w.c2.as_str())
            .replace("{user_id}", "r2")
            .replace("{goal_id}", "goal_00000000000000000000000000000000");
        let (status, _) = as_user(&w, &w.a, "r1", method, &path, Some(json!({"name": "x"}))).await;
        let events = by_users(audit_events(&w).await);
        if matches!(*method, "GET") {
            assert_eq!(
                events.len(),
                before,
                "{method} {route} must not audit a read"
            );
            continue;
        }
        assert_eq!(
            events.len(),
            before + 1,
            "{method} {route} ({status}) wrote no audit event"
        );
        let event = events.last().unwrap();
        assert_eq!(event.action, format!("{method} {route}"));
        assert_eq!(event.object, path);
        assert_eq!(event.tenant_id, w.a);
        assert_eq!(event.actor.as_ref().map(|u| u.as_str()), Some("r1"));
        assert_eq!(event.request_id.as_deref(), Some("local-request"));
        let expected = if status.is_success() {
            "success"
        } else if status == StatusCode::NOT_FOUND {
            "denied"
        } else {
            "failed"
        };
        assert_eq!(
            serde_json::to_value(event.outcome).unwrap(),
            expected,
            "{method} {route}"
        );
    }
}

#[tokio::test]
async fn admins_list_the_audit_trail_which_never_holds_content() {
    let w = world().await;
    let (status, _) = as_user(
        &w,
        &w.a,
        "admin",
        "POST",
        "/v1/teams",
        Some(json!({"name": "Confidential Project Falcon"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = as_user(
        &w,
        &w.b,
        "admin-b",
        "POST",
        "/v1/teams",
        Some(json!({"name": "Other tenant"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = as_user(&w, &w.a, "admin", "GET", "/v1/audit", None).await;
    assert_eq!(status, StatusCode::OK);
    let items = serde_json::from_str::<Value>(&body).unwrap()["items"]
        .as_array()
        .unwrap()
        .clone();
    let mut actions: Vec<&str> = items.iter().map(|e| e["action"].as_str().unwrap()).collect();
    // Newest first: the team, then the provisioning of this workspace (the operator's, both
    // at one moment).
    actions[1..].sort();
    assert_eq!(
        actions,
        ["POST /v1/teams", "workspace.admin_added", "workspace.provisioned"],
        "only this tenant's events: {body}"
    );
    assert!(
        !body.contains("Falcon"),
        "no request content in the audit trail"
    );
    let (status, text) = as_user(&w, &w.a, "r1", "GET", "/v1/audit", None).await;
    assert_eq!(
        (status, text.as_str()),
        (StatusCode::NOT_FOUND, NOT_FOUND_BODY)
    );
    // Team owners read none of it: the trail is the workspace's.
    for who in ["manager", "owner", "stranger"] {
        let (status, _) = as_user(&w, &w.a, who, "GET", "/v1/audit", None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{who}");
    }
}

#[tokio::test]
async fn rep_progress_is_visible_to_the_rep_and_their_managers_only() {
    let w = world().await;
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
        let (status, body) = as_user(&w, tenant, who, "GET", "/v1/reps/r1/progress", None).await;
        assert_eq!(status, expected, "{who}");
        if status == StatusCode::OK {
            let progress: Value = serde_json::from_str(&body).unwrap();
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

/// A transcript whose JSON is too large for a Lambda answer comes as a short-lived link to a
/// copy under the call's export prefix; small documents stay inline.
#[tokio::test]
async fn a_document_too_large_for_an_answer_comes_as_a_link() {
    let w = world().await;
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
        repository: &w.api.ports.store,
        blobs: &w.api.ports.blobs,
        envelope: &w.api.ports.envelope,
    }
    .put_transcript(&w.a, &long.call_id, 1, &transcript)
    .await
    .unwrap();
    long.transcript_version = 1;
    long.status = CallStatus::Transcribed;
    w.api.ports.store.save_call(&mut long).await.unwrap();

    let path = format!("/v1/calls/{}/transcript", long.call_id);
    let (status, body) = as_user(&w, &w.a, "r1", "GET", &path, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.len() < 10_000, "a link, not the document: {} bytes", body.len());
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["too_large"], true, "{answer}");
    assert!(answer["bytes"].as_u64().unwrap() > 2_500_000);
    assert!(answer["download_url"].as_str().is_some_and(|u| !u.is_empty()));
    assert!(answer["expires_at"].is_string());
    let key = callcoach_shared::keys::document_view_key(
        &w.a,
        &long.call_id,
        callcoach_shared::ports::DocumentKind::Transcript,
        1,
    );
    let linked: callcoach_shared::domain::transcript::Transcript = serde_json::from_slice(&bundle_bytes(&w, &key).await).unwrap();
    assert_eq!(linked.utterances.len(), 30_000);
    // Others may not: the same 404 as ever.
    let (status, _) = as_user(&w, &w.a, "r2", "GET", &path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A small document is the answer itself.
    let (status, body) = as_user(&w, &w.a, "r1", "GET", &format!("/v1/calls/{}/transcript", w.c1), None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(serde_json::from_str::<Value>(&body).unwrap()["utterances"].is_array());
}

/// A deleted call's scores and goals leave its rep's progress at once (entries, averages).
#[tokio::test]
async fn a_deleted_calls_entry_leaves_the_reps_progress() {
    let w = world().await;
    let calls_seen = || async {
        let (status, body) = as_user(&w, &w.a, "r1", "GET", "/v1/reps/r1/progress", None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let progress: Value = serde_json::from_str(&body).unwrap();
        (
            progress["calls"].as_array().unwrap().len(),
            progress["averages"]["last_5_calls"]["calls"].as_u64().unwrap(),
        )
    };
    assert_eq!(calls_seen().await, (1, 1));
    let (status, body) = as_user(&w, &w.a, "r1", "DELETE", &format!("/v1/calls/{}", w.c1), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(calls_seen().await, (0, 0));

    // Expired and purged by the reaper (which cannot read progress): never shown again, and
    // gone from the stored record at the first read.
    let expiring = call(&w.api, &w.a, &w.west, "r1").await;
    score(&w.api, expiring.clone()).await;
    assert_eq!(calls_seen().await, (1, 1));
    callcoach_shared::ports::RetentionStore::delete_call_items(&w.api.ports.store, &w.a, &expiring.call_id)
        .await
        .unwrap();
    assert_eq!(calls_seen().await, (0, 0));
    let stored = callcoach_shared::usecases::progress::load_progress(
        &w.api.ports.store,
        &w.api.ports.envelope,
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
#[tokio::test]
async fn rep_progress_shows_each_manager_only_the_teams_they_manage() {
    let w = world().await;
    let north = team(&w.api, &w.a, "owner-north", &[("mgr-north", Role::Manager), ("r1", Role::Rep)]).await;
    let north_call = call(&w.api, &w.a, &north, "r1").await;
    score(&w.api, north_call.clone()).await;
    let seen = |who: &'static str| {
        let w = &w;
        async move {
            let (status, body) = as_user(w, &w.a, who, "GET", "/v1/reps/r1/progress", None).await;
            assert_eq!(status, StatusCode::OK, "{who}: {body}");
            let progress: Value = serde_json::from_str(&body).unwrap();
            let calls: Vec<String> = progress["calls"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["call_id"].as_str().unwrap().to_owned())
                .collect();
            (calls, progress["averages"]["all_kept_calls"]["calls"].clone())
        }
    };
    assert_eq!(seen("r1").await.0.len(), 2, "the rep sees all of theirs");
    assert_eq!(seen("manager").await, (vec![w.c1.to_string()], json!(1)));
    assert_eq!(seen("mgr-north").await, (vec![north_call.call_id.to_string()], json!(1)));
    assert_eq!(seen("owner-north").await.0, vec![north_call.call_id.to_string()]);
}

#[tokio::test]
async fn owners_set_the_team_playbook_members_read_it() {
    let w = world().await;
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

#[tokio::test]
async fn listing_filters_by_rep_type_status_company_and_date() {
    let w = world().await;
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

#[tokio::test]
async fn deleting_and_holding_calls_follow_the_access_rules() {
    let w = world().await;
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
        let (status, text) = as_user(
            &w,
            tenant,
            who,
            "PUT",
            &hold,
            Some(json!({"legal_hold": true})),
        )
        .await;
        assert_eq!(
            (status, text.as_str()),
            (StatusCode::NOT_FOUND, NOT_FOUND_BODY),
            "{who} PUT {hold}"
        );
        if !hold_only {
            let path = format!("/v1/calls/{id}");
            let (status, text) = as_user(&w, tenant, who, "DELETE", &path, None).await;
            assert_eq!(
                (status, text.as_str()),
                (StatusCode::NOT_FOUND, NOT_FOUND_BODY),
                "{who} DELETE {path}"
            );
        }
    }
    let stored = |id: &CallId| {
        let store = &w.api.ports.store;
        let (tenant, id) = (w.a.clone(), id.clone());
        async move { store.get_call(&tenant, &id).await.unwrap().unwrap() }
    };
    for id in [&w.c1, &w.c2, &w.c3] {
        let call = stored(id).await;
        assert!(call.status != CallStatus::Deleted && !call.legal_hold);
    }

    // The team's owner holds c2; its rep deletes their own c1.
    let hold = format!("/v1/calls/{}/legal-hold", w.c2);
    let (status, _) = as_user(
        &w,
        &w.a,
        "owner",
        "PUT",
        &hold,
        Some(json!({"legal_hold": true})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(stored(&w.c2).await.legal_hold);
    let path = format!("/v1/calls/{}", w.c1);
    let (status, _) = as_user(&w, &w.a, "r1", "DELETE", &path, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(stored(&w.c1).await.status, CallStatus::Deleted);
    for (who, method) in [("r1", "GET"), ("manager", "GET"), ("r1", "DELETE")] {
        let (status, text) = as_user(&w, &w.a, who, method, &path, None).await;
        assert_eq!(
            (status, text.as_str()),
            (StatusCode::NOT_FOUND, NOT_FOUND_BODY),
            "{who} {method}"
        );
    }
    let listing = format!("/v1/calls?team_id={}", w.west);
    let (_, text) = as_user(&w, &w.a, "manager", "GET", &listing, None).await;
    assert!(
        !text.contains(w.c1.as_str()),
        "a deleted call leaves listings"
    );
    assert!(text.contains(w.c2.as_str()));

    // The held c2 cannot be deleted by anyone who may change it (409, nothing changes) until
    // its hold is lifted; it stays visible to the owner who can lift it.
    let held = format!("/v1/calls/{}", w.c2);
    for who in ["r2", "manager", "owner"] {
        let (status, text) = as_user(&w, &w.a, who, "DELETE", &held, None).await;
        assert_eq!(status, StatusCode::CONFLICT, "{who}: {text}");
        assert!(text.contains("legal hold"), "{text}");
    }
    let call = stored(&w.c2).await;
    assert!(call.legal_hold && call.status != CallStatus::Deleted);
    let (status, _) = as_user(&w, &w.a, "owner", "GET", &held, None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = as_user(&w, &w.a, "owner", "PUT", &hold, Some(json!({"legal_hold": false}))).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = as_user(&w, &w.a, "r2", "DELETE", &held, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn workspace_admins_set_bounded_retention_and_others_see_nothing() {
    let w = world().await;
    let path = "/v1/workspace/retention";
    let (status, text) = as_user(&w, &w.a, "admin", "GET", path, None).await;
    assert_eq!(status, StatusCode::OK);
    let defaults: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(defaults["transcripts_days"], Value::Null);
    assert_eq!(defaults["recordings_days_after_transcription"], 30);
    assert_eq!(defaults["legal_hold"], false);

    for who in ["owner", "owner-east", "manager", "r1", "stranger"] {
        for (method, body) in [("GET", None), ("PUT", Some(json!({"legal_hold": true})))] {
            let (status, text) = as_user(&w, &w.a, who, method, path, body).await;
            assert_eq!(
                (status, text.as_str()),
                (StatusCode::NOT_FOUND, NOT_FOUND_BODY),
                "{who} {method}"
            );
        }
    }
    for (body, field) in [
        (json!({"transcripts_days": 45}), "transcripts_days"),
        (
            json!({"recordings_days_after_transcription": 0}),
            "recordings_days_after_transcription",
        ),
        (
            json!({"transcripts_days": 90, "tenant_id": "tenant-b"}),
            "tenant_id",
        ),
    ] {
        let (status, text) = as_user(&w, &w.a, "admin", "PUT", path, Some(body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(text.contains(field), "{text}");
    }
    let change = json!({"transcripts_days": 90, "recordings_days_after_transcription": 7});
    let (status, text) = as_user(&w, &w.a, "admin", "PUT", path, Some(change)).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let tenant = w.api.ports.store.get_tenant(&w.a).await.unwrap().unwrap();
    assert_eq!(tenant.retention.transcripts_days, Some(90));
    assert_eq!(tenant.retention.recordings_days_after_transcription, 7);
    // Fields left out keep their value; null means "for the account's life".
    let (_, text) = as_user(
        &w,
        &w.a,
        "admin",
        "PUT",
        path,
        Some(json!({"transcripts_days": null})),
    )
    .await;
    let now: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        (
            now["transcripts_days"].clone(),
            now["recordings_days_after_transcription"].clone()
        ),
        (Value::Null, json!(7))
    );
    // The other workspace is untouched.
    let (status, text) = as_user(&w, &w.b, "admin-b", "GET", path, None).await;
    assert_eq!(
        (status, serde_json::from_str::<Value>(&text).unwrap()),
        (StatusCode::OK, defaults)
    );
}

#[tokio::test]
async fn exports_hold_exactly_what_the_caller_may_take_and_no_other_tenants_data() {
    let w = world().await;
    // Canary words in transcripts of another rep, another team and another tenant.
    let r2_call = w
        .api
        .ports
        .store
        .get_call(&w.a, &w.c2)
        .await
        .unwrap()
        .unwrap();
    score_saying(&w.api, r2_call, "canary-of-rep-two").await;
    let east_call = w
        .api
        .ports
        .store
        .get_call(&w.a, &w.c3)
        .await
        .unwrap()
        .unwrap();
    score_saying(&w.api, east_call, "canary-of-team-east").await;
    let b_call = w
        .api
        .ports
        .store
        .get_call(&w.b, &w.cb)
        .await
        .unwrap()
        .unwrap();
    score_saying(&w.api, b_call, "canary-of-tenant-b").await;
    // An audit event of r1's own, and one of someone else's.
    as_user(
        &w,
        &w.a,
        "r1",
        "PUT",
        &format!("/v1/calls/{}/rep-speaker", w.c1),
        Some(json!({"speaker": "Dana"})),
    )
    .await;
    as_user(
        &w,
        &w.a,
        "manager",
        "PUT",
        &format!("/v1/calls/{}/rep-speaker", w.c2),
        Some(json!({"speaker": "Dana"})),
    )
    .await;

    let bundle_of = |text: &str| {
        let answer: Value = serde_json::from_str(text).unwrap();
        let id = answer["export_id"].as_str().unwrap().to_owned();
        let key = format!("exports/{}/{id}.json", w.a);
        (answer, key)
    };
    let (status, text) = as_user(
        &w,
        &w.a,
        "r1",
        "POST",
        "/v1/exports",
        Some(json!({"scope": "user"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    // The bundle is in the bucket under exports/{tenant}/ (read back below).
    let (answer, key) = bundle_of(&text);
    let bytes = bundle_bytes(&w, &key).await;
    let bundle: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(bundle["schema"], "callcoach.export.v1");
    assert_eq!(callcoach_tests::export_schema_errors(&bundle), Vec::<String>::new());
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
    for canary in [
        "canary-of-rep-two",
        "canary-of-team-east",
        "canary-of-tenant-b",
    ] {
        assert!(
            !String::from_utf8_lossy(&bytes).contains(canary),
            "{canary}"
        );
    }
    assert!(!String::from_utf8_lossy(&bytes).contains("ciphertext"));
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
    let (status, body) = as_user(
        &w,
        &w.a,
        "owner",
        "POST",
        "/v1/exports",
        Some(json!({"scope": "workspace"})),
    )
    .await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::NOT_FOUND, NOT_FOUND_BODY)
    );
    // The admin exports the workspace, as a background job: 202 and a status resource that
    // says queued until the job has run.
    let (status, text) = as_user(
        &w,
        &w.a,
        "admin",
        "POST",
        "/v1/exports",
        Some(json!({"scope": "workspace"})),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{text}");
    let (job, key) = bundle_of(&text);
    let status_url = job["status_url"].as_str().unwrap().to_owned();
    assert_eq!(status_url, format!("/v1/exports/{}", job["export_id"].as_str().unwrap()));
    let (status, text) = as_user(&w, &w.a, "admin", "GET", &status_url, None).await;
    let queued: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        (status, &queued["state"], queued.get("download_url")),
        (StatusCode::OK, &json!("queued"), None)
    );
    // Only the workspace's admins see the job; everyone else gets the one 404, as for an
    // unknown or malformed id and for the other workspace.
    for who in ["owner", "manager", "r1", "stranger"] {
        let (status, body) = as_user(&w, &w.a, who, "GET", &status_url, None).await;
        assert_eq!((status, body.as_str()), (StatusCode::NOT_FOUND, NOT_FOUND_BODY), "{who}");
    }
    for (tenant, who, path) in [
        (&w.a, "admin", "/v1/exports/exp_00000000000000000000000000000000"),
        (&w.a, "admin", "/v1/exports/not-an-id"),
        (&w.b, "admin-b", status_url.as_str()),
    ] {
        let (status, body) = as_user(&w, tenant, who, "GET", path, None).await;
        assert_eq!((status, body.as_str()), (StatusCode::NOT_FOUND, NOT_FOUND_BODY), "{who} {path}");
    }
    // The queue delivers the job to the function; delivered twice, it is written once.
    assert_eq!(run_export_jobs(&w).await, 1);
    let (status, text) = as_user(&w, &w.a, "admin", "GET", &status_url, None).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let ready: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(ready["state"], "ready", "{ready}");
    assert!(ready["download_url"].as_str().is_some_and(|u| !u.is_empty()));
    assert!(ready["finished_at"].is_string() && ready["expires_at"].is_string());
    // Each link to the whole workspace is on the record: who asked for which export.
    let issued: Vec<_> = audit_events(&w)
        .await
        .into_iter()
        .filter(|e| e.action == "export.link_issued")
        .collect();
    assert_eq!(issued.len(), 1);
    assert_eq!(
        (issued[0].actor.as_ref().map(|u| u.as_str()), issued[0].object.as_str()),
        (Some("admin"), status_url.as_str())
    );
    let bytes = bundle_bytes(&w, &key).await;
    assert_eq!(run_export_jobs_again(&w, &job).await, 1);
    assert_eq!(bundle_bytes(&w, &key).await, bytes, "a redelivery rewrites nothing");
    // Every call of west and east, none of b.
    let bundle: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(bundle["counts"], ready["counts"]);
    let bundle: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(callcoach_tests::export_schema_errors(&bundle), Vec::<String>::new());
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
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.contains("canary-of-rep-two") && text.contains("canary-of-team-east"));
    assert!(!text.contains("canary-of-tenant-b"));
    assert_eq!(bundle["counts"]["transcripts"], 3);

    // A rep may not export the workspace; unknown scopes and fields are refused.
    let (status, body) = as_user(
        &w,
        &w.a,
        "r1",
        "POST",
        "/v1/exports",
        Some(json!({"scope": "workspace"})),
    )
    .await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::NOT_FOUND, NOT_FOUND_BODY)
    );
    let (status, _) = as_user(
        &w,
        &w.a,
        "r1",
        "POST",
        "/v1/exports",
        Some(json!({"scope": "everything"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = as_user(
        &w,
        &w.a,
        "r1",
        "POST",
        "/v1/exports",
        Some(json!({"scope": "user", "tenant_id": "tenant-b"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

async fn bundle_bytes(w: &World, key: &str) -> Vec<u8> {
    use callcoach_shared::ports::BlobStore;
    w.api.ports.blobs.get(key).await.unwrap().unwrap()
}

/// The local workflow (`callcoach api`): the local gateway plays API Gateway's JWT authorizer,
/// verifies local tokens and refuses every malformed, expired, premature, misaddressed,
/// unsigned or foreign one before the function sees it (test 24).
#[tokio::test]
async fn local_tokens_are_verified_by_the_local_gateway_and_every_bad_one_is_refused() {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use callcoach_local_router::local_api;
    use callcoach_local_router::local_auth::{LOCAL_KID, LocalIssuer, LocalVerifier, generate_key_pair};
    use jsonwebtoken::{Algorithm, EncodingKey, Header};

    let (private, public) = generate_key_pair();
    let w = world().await;
    let verifier = Arc::new(LocalVerifier::from_public_key(&public).unwrap());
    let gateway = local_api::gateway(router(Arc::clone(&w.api)), verifier);
    let issuer = LocalIssuer::from_pkcs8(&private);
    let path = format!("/v1/calls/{}", w.c1);
    let through = |req: Request<Body>| {
        let gateway = gateway.clone();
        async move {
            let response = gateway.oneshot(req).await.unwrap();
            let status = response.status();
            let bytes = response.into_body().collect().await.unwrap().to_bytes();
            (status, String::from_utf8(bytes.to_vec()).unwrap())
        }
    };
    let get = |token: Option<String>| {
        let mut req = Request::builder().method("GET").uri(&path);
        if let Some(token) = token {
            req = req.header("authorization", format!("Bearer {token}"));
        }
        through(req.body(Body::empty()).unwrap())
    };
    let claim = "custom:tenant_id";
    let extra = |pairs: Value| pairs.as_object().unwrap().clone();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();

    let good = issuer.issue(claim, w.a.as_str(), "r1", 300, extra(json!({})));
    assert_eq!(get(Some(good.clone())).await.0, StatusCode::OK);

    let (other_private, _) = generate_key_pair();
    let mut foreign_kid = Header::new(Algorithm::EdDSA);
    foreign_kid.kid = Some("someone-else".into());
    let payload = json!({"iss": "callcoach-local", "aud": "callcoach-local-api", "sub": "r1", claim: w.a.as_str(), "exp": now + 300, "nbf": now});
    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(payload.to_string())
    );
    let mut hs_header = Header::new(Algorithm::HS256);
    hs_header.kid = Some(LOCAL_KID.into());
    let refused = [
        ("no token", None),
        (
            "expired",
            Some(issuer.issue(claim, w.a.as_str(), "r1", -120, extra(json!({})))),
        ),
        (
            "not yet valid",
            Some(issuer.issue(
                claim,
                w.a.as_str(),
                "r1",
                3600,
                extra(json!({"nbf": now + 600})),
            )),
        ),
        (
            "wrong issuer",
            Some(issuer.issue(
                claim,
                w.a.as_str(),
                "r1",
                300,
                extra(json!({"iss": "https://elsewhere.example"})),
            )),
        ),
        (
            "wrong audience",
            Some(issuer.issue(
                claim,
                w.a.as_str(),
                "r1",
                300,
                extra(json!({"aud": "another-api"})),
            )),
        ),
        (
            "exp as a string",
            Some(issuer.issue(
                claim,
                w.a.as_str(),
                "r1",
                300,
                extra(json!({"exp": (now + 300).to_string()})),
            )),
        ),
        (
            "no tenant claim",
            Some(issuer.issue("other_claim", w.a.as_str(), "r1", 300, extra(json!({})))),
        ),
        (
            "malformed tenant",
            Some(issuer.issue(claim, "a/b", "r1", 300, extra(json!({})))),
        ),
        (
            "signed by another key",
            Some(LocalIssuer::from_pkcs8(&other_private).issue(
                claim,
                w.a.as_str(),
                "r1",
                300,
                extra(json!({})),
            )),
        ),
        (
            "unknown kid",
            Some(
                jsonwebtoken::encode(&foreign_kid, &payload, &EncodingKey::from_ed_der(&private))
                    .unwrap(),
            ),
        ),
        ("alg none", Some(unsigned)),
        (
            "HS256 with the public key as secret",
            Some(
                jsonwebtoken::encode(
                    &hs_header,
                    &payload,
                    &EncodingKey::from_secret(public.as_bytes()),
                )
                .unwrap(),
            ),
        ),
        ("garbage", Some("not.a.token".into())),
    ];
    for (name, token) in refused {
        let (status, body) = get(token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{name}");
        // A bad token stops at the gateway; a good one without a usable tenant at the function.
        let function_refused = matches!(name, "no tenant claim" | "malformed tenant");
        assert_eq!(
            body.contains("\"status\":401"),
            function_refused,
            "{name}: {body}"
        );
    }
    // Claims a caller puts in the request are not an identity: only a verified token is.
    let (status, _) = through(request("GET", &path, claims(&w.a, "r1"), None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn prep_cards_draw_on_the_calls_the_caller_may_see() {
    let w = world().await;
    // c1 (r1) is scored by world(); c2 (r2) raises a price objection with the same company.
    let c2 = w
        .api
        .ports
        .store
        .get_call(&w.a, &w.c2)
        .await
        .unwrap()
        .unwrap();
    score_saying(&w.api, c2, "Honestly it is too expensive for us this year.").await;
    let playbook = json!({
        "value_propositions": ["Ramp new reps in half the time"],
        "objection_handling": [{"objection": "price", "response": "Tie the cost to hours saved per rep."}]
    });
    let (status, _) = as_user(
        &w,
        &w.a,
        "owner",
        "PUT",
        &format!("/v1/teams/{}/playbook", w.west),
        Some(playbook),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    let card = |who: &'static str, tenant: TenantId, domain: &'static str| {
        let path = format!("/v1/prep-cards?team_id={}&company_domain={domain}", w.west);
        let w = &w;
        async move { as_user(w, &tenant, who, "GET", &path, None).await }
    };
    let (status, text) = card("manager", w.a.clone(), "INITECH.example").await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let body: Value = serde_json::from_str(&text).unwrap();
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
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["calls_considered"], 1);
    assert!(!text.contains(w.c2.as_str()) && !text.contains("too expensive"));

    // Another company: an empty card. Outsiders: the one 404.
    let (_, text) = card("manager", w.a.clone(), "other.example").await;
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap()["calls_considered"],
        0
    );
    for (who, tenant) in [
        ("owner-east", w.a.clone()),
        ("stranger", w.a.clone()),
        ("owner-b", w.b.clone()),
    ] {
        let (status, text) = card(who, tenant, "initech.example").await;
        assert_eq!(
            (status, text.as_str()),
            (StatusCode::NOT_FOUND, NOT_FOUND_BODY),
            "{who}"
        );
    }
}

#[tokio::test]
async fn reps_practise_answers_to_their_highlights_and_the_team_reads_them() {
    let w = world().await;
    let analysis_path = format!("/v1/calls/{}/analysis", w.c1);
    let (_, text) = as_user(&w, &w.a, "r1", "GET", &analysis_path, None).await;
    let analysis: Value = serde_json::from_str(&text).unwrap();
    let highlight = analysis["highlights"][0]["highlight_id"]
        .as_str()
        .expect("c1 has a highlight")
        .to_owned();
    let path = format!("/v1/calls/{}/practice", w.c1);
    let answer = "Understood on the freeze: what does waiting until April cost your ramp plan?";

    let (status, text) = as_user(
        &w,
        &w.a,
        "r1",
        "POST",
        &path,
        Some(json!({"highlight_id": highlight, "text": answer})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    for (who, body) in [
        ("manager", json!({"highlight_id": highlight, "text": "x"})), // sees the call, is not its rep
        ("r2", json!({"highlight_id": highlight, "text": "x"})),      // may not see the call
    ] {
        let (status, text) = as_user(&w, &w.a, who, "POST", &path, Some(body)).await;
        assert_eq!(
            (status, text.as_str()),
            (StatusCode::NOT_FOUND, NOT_FOUND_BODY),
            "{who}"
        );
    }
    let (status, text) = as_user(
        &w,
        &w.a,
        "r1",
        "POST",
        &path,
        Some(json!({"highlight_id": "hl_00000000000000000000000000000000", "text": "x"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(text.contains("highlight_id"));
    let long = "a".repeat(2001);
    let (status, _) = as_user(
        &w,
        &w.a,
        "r1",
        "POST",
        &path,
        Some(json!({"highlight_id": highlight, "text": long})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (status, text) = as_user(&w, &w.a, "manager", "GET", &path, None).await;
    assert_eq!(status, StatusCode::OK);
    let listed: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert_eq!(listed["items"][0]["text"], answer);
    assert_eq!(listed["items"][0]["author"], "r1");
    let (status, _) = as_user(&w, &w.a, "r2", "GET", &path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The rep's export carries it.
    let (_, text) = as_user(
        &w,
        &w.a,
        "r1",
        "POST",
        "/v1/exports",
        Some(json!({"scope": "user"})),
    )
    .await;
    let receipt: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(receipt["counts"]["practice_responses"], 1);
}

#[tokio::test]
async fn reps_mark_their_own_current_goals_complete() {
    let w = world().await;
    let (_, text) = as_user(&w, &w.a, "r1", "GET", "/v1/reps/r1/progress", None).await;
    let progress: Value = serde_json::from_str(&text).unwrap();
    let goal = progress["current_goals"][0]["goal_id"]
        .as_str()
        .expect("c1 set goals")
        .to_owned();
    let path = format!("/v1/reps/r1/goals/{goal}/complete");
    for who in ["manager", "owner", "r2"] {
        let (status, text) = as_user(&w, &w.a, who, "POST", &path, None).await;
        assert_eq!(
            (status, text.as_str()),
            (StatusCode::NOT_FOUND, NOT_FOUND_BODY),
            "{who}"
        );
    }
    let unknown = "/v1/reps/r1/goals/goal_00000000000000000000000000000000/complete";
    assert_eq!(
        as_user(&w, &w.a, "r1", "POST", unknown, None).await.0,
        StatusCode::NOT_FOUND
    );
    let (status, text) = as_user(&w, &w.a, "r1", "POST", &path, None).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    // Twice is the same as once.
    as_user(&w, &w.a, "r1", "POST", &path, None).await;
    let (_, text) = as_user(&w, &w.a, "manager", "GET", "/v1/reps/r1/progress", None).await;
    let progress: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(progress["completed_goals"], json!([goal]));
}

#[tokio::test]
async fn views_of_calls_are_recorded_as_usage_and_refused_reads_are_not() {
    use callcoach_shared::ports::UsageLog;
    let w = world().await;
    for suffix in ["", "/transcript", "/analysis"] {
        let (status, _) = as_user(
            &w,
            &w.a,
            "r1",
            "GET",
            &format!("/v1/calls/{}{suffix}", w.c1),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
    }
    let (status, _) = as_user(&w, &w.a, "r1", "GET", &format!("/v1/calls/{}", w.c2), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let views = w
        .api
        .ports
        .store
        .views_of_user(&w.a, &UserId::parse("r1").unwrap(), SystemClock.now(), &PageRequest::first(100).unwrap())
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
    let (_, text) = as_user(
        &w,
        &w.a,
        "r1",
        "POST",
        "/v1/exports",
        Some(json!({"scope": "user"})),
    )
    .await;
    let receipt: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(receipt["counts"]["usage_events"], 3);
}

#[tokio::test]
async fn a_cancelled_workspace_is_locked_but_still_reads_and_exports() {
    use callcoach_shared::domain::retention::AccountState;
    use callcoach_shared::ports::TenantRepository;
    use callcoach_shared::usecases::lifecycle::change_account_state;
    let w = world().await;
    let (status, _) = as_user(&w, &w.a, "admin", "GET", "/v1/workspace/retention", None).await;
    assert_eq!(status, StatusCode::OK, "the workspace record exists");
    change_account_state(
        &w.api.ports.store,
        &w.a,
        AccountState::Cancelled,
        SystemClock.now(),
        SystemClock.now(),
    )
    .await
    .unwrap();
    assert_eq!(
        w.api
            .ports
            .store
            .get_tenant(&w.a)
            .await
            .unwrap()
            .unwrap()
            .state,
        AccountState::Cancelled
    );
    let (status, text) = as_user(
        &w,
        &w.a,
        "admin",
        "POST",
        "/v1/teams",
        Some(json!({"name": "New"})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{text}");
    assert!(text.contains("locked"));
    let (status, _) = as_user(
        &w,
        &w.a,
        "r1",
        "DELETE",
        &format!("/v1/calls/{}", w.c1),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = as_user(&w, &w.a, "r1", "GET", &format!("/v1/calls/{}", w.c1), None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = as_user(
        &w,
        &w.a,
        "r1",
        "POST",
        "/v1/exports",
        Some(json!({"scope": "user"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    // The other workspace is not locked.
    let (status, _) = as_user(
        &w,
        &w.b,
        "admin-b",
        "POST",
        "/v1/teams",
        Some(json!({"name": "New"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    // Re-activated: changes work again.
    change_account_state(
        &w.api.ports.store,
        &w.a,
        AccountState::Active,
        SystemClock.now(),
        SystemClock.now(),
    )
    .await
    .unwrap();
    let (status, _) = as_user(
        &w,
        &w.a,
        "admin",
        "POST",
        "/v1/teams",
        Some(json!({"name": "New"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
}

/// P6 through the API: users, teams and the workspace are deleted by those who administer
/// them, and by no one else (the same 404); a legal hold refuses the deletion; what is deleted
/// answers 404 at once. The workspace goes in two steps: an admin asks, it answers 410 to
/// everyone at once, an admin may cancel during the grace period, and its keys are shredded
/// when the grace period ends; other tenants carry on.
#[tokio::test]
async fn users_teams_and_workspaces_are_deleted_by_those_who_administer_them() {
    use callcoach_shared::crypto::{DataCategory, DataKeyStore};
    let w = world().await;
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
    assert_eq!(delete(&w.a, "admin", "/v1/users/nobody".into()).await, not_found);
    assert_eq!(delete(&w.a, "owner", "/v1/users/admin".into()).await, not_found);
    let (status, _) = delete(&w.a, "admin", "/v1/users/admin".into()).await;
    assert_eq!(status, StatusCode::CONFLICT, "no one deletes themselves");
    // A team owner who adds someone to their team still cannot delete them (their calls in
    // other teams would go with them): r3's call in east stays.
    let (status, _) = as_user(&w, &w.a, "owner", "PUT", &format!("/v1/teams/{}/members/r3", w.west), Some(json!({"role": "rep"}))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(delete(&w.a, "owner", "/v1/users/r3".into()).await, not_found);
    let (status, _) = as_user(&w, &w.a, "owner-east", "GET", &format!("/v1/calls/{}", w.c3), None).await;
    assert_eq!(status, StatusCode::OK, "r3's call in another team is untouched");
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
    let (_, members) = as_user(&w, &w.a, "owner", "GET", &format!("/v1/teams/{}/members", w.west), None).await;
    assert!(!members.contains("\"r2\"") && members.contains("\"r1\""), "{members}");
    let (status, _) = as_user(&w, &w.a, "r1", "GET", &format!("/v1/calls/{}", w.c1), None).await;
    assert_eq!(status, StatusCode::OK, "another rep's call stays");

    // Teams: only their owners and admins; the team's calls go with it.
    let east = format!("/v1/teams/{}", w.east);
    assert_eq!(delete(&w.a, "owner", east.clone()).await, not_found);
    assert_eq!(delete(&w.a, "r3", east.clone()).await, not_found);
    let (status, body) = delete(&w.a, "owner-east", east.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = as_user(&w, &w.a, "owner", "GET", &format!("/v1/calls/{}", w.c3), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(delete(&w.a, "owner-east", east.clone()).await, not_found, "already gone");
    assert_eq!(delete(&w.a, "admin", east).await, not_found, "already gone");

    // A legal hold refuses the user's and the workspace's deletion; nothing changes.
    let hold = format!("/v1/calls/{}/legal-hold", w.c1);
    let held = |on: bool| as_user(&w, &w.a, "owner", "PUT", &hold, Some(json!({"legal_hold": on})));
    assert_eq!(held(true).await.0, StatusCode::OK);
    assert_eq!(delete(&w.a, "admin", "/v1/users/r1".into()).await.0, StatusCode::CONFLICT);
    assert_eq!(delete(&w.a, "admin", "/v1/workspace".into()).await.0, StatusCode::CONFLICT);
    assert_eq!(held(false).await.0, StatusCode::OK);

    // The workspace: admins only, never a team owner; locked at once, shredded only later.
    let keys = |tenant: &TenantId| {
        let store = &w.api.ports.store;
        let tenant = tenant.clone();
        async move { store.latest_data_key(&tenant, DataCategory::Transcripts).await.unwrap() }
    };
    assert!(keys(&w.a).await.is_some(), "c1's transcript was sealed under a data key");
    assert_eq!(delete(&w.a, "manager", "/v1/workspace".into()).await, not_found);
    assert_eq!(delete(&w.a, "owner", "/v1/workspace".into()).await, not_found);
    let (status, body) = delete(&w.a, "admin", "/v1/workspace".into()).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let asked: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(asked["state"], "deletion_pending");
    assert_eq!(asked["grace_hours"], 72);
    assert!(keys(&w.a).await.is_some(), "nothing is shredded during the grace period");
    let gone = |who: &'static str, method: &'static str, path: String| {
        let w = &w;
        async move { as_user(w, &w.a, who, method, &path, Some(json!({"scope": "workspace"}))).await.0 }
    };
    for (who, method, path) in [
        ("r1", "GET", format!("/v1/calls/{}", w.c1)),
        ("owner", "GET", format!("/v1/calls?team_id={}", w.west)),
        ("admin", "POST", "/v1/exports".to_owned()),
        ("admin", "GET", "/v1/workspace/retention".to_owned()),
        ("owner", "GET", "/v1/workspace/deletion".to_owned()),
        ("owner", "DELETE", "/v1/workspace/deletion".to_owned()),
    ] {
        assert_eq!(gone(who, method, path.clone()).await, StatusCode::GONE, "{who} {method} {path}");
    }
    // Asking again answers the same pending deletion; only an admin still sees it, and may
    // cancel it.
    let (status, body) = delete(&w.a, "admin", "/v1/workspace".into()).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["shred_at"], asked["shred_at"]);
    let (status, body) = as_user(&w, &w.a, "admin", "GET", "/v1/workspace/deletion", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["shred_at"], asked["shred_at"]);
    let (status, _) = as_user(&w, &w.a, "admin", "DELETE", "/v1/workspace/deletion", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(gone("r1", "GET", format!("/v1/calls/{}", w.c1)).await, StatusCode::OK, "served again");
    assert_eq!(
        as_user(&w, &w.a, "admin", "GET", "/v1/workspace/deletion", None).await,
        not_found,
        "nothing pending"
    );

    // Asked again and left alone: the reaper shreds and purges it when the grace period ends.
    let (status, body) = delete(&w.a, "admin", "/v1/workspace".into()).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let shred_at = time::OffsetDateTime::parse(
        serde_json::from_str::<Value>(&body).unwrap()["shred_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let reap_at = |at: time::OffsetDateTime| {
        let w = &w;
        async move {
            let clock = callcoach_shared::fakes::ManualClock::at(at);
            callcoach_shared::usecases::reaper::Reaper {
                store: &w.api.ports.store,
                blobs: &w.api.ports.blobs,
                clock: &clock,
            }
            .run(Some(std::slice::from_ref(&w.a)), false, || true)
            .await
            .unwrap()
        }
    };
    assert_eq!(reap_at(shred_at - time::Duration::SECOND).await.accounts_destroyed, 0);
    assert!(keys(&w.a).await.is_some());
    assert_eq!(reap_at(shred_at).await.accounts_destroyed, 1);
    assert!(keys(&w.a).await.is_none(), "every data key of the workspace is destroyed");
    assert_eq!(gone("admin", "GET", "/v1/workspace/deletion".into()).await, StatusCode::GONE);
    let (status, _) = as_user(&w, &w.b, "r1", "GET", &format!("/v1/calls/{}", w.cb), None).await;
    assert_eq!(status, StatusCode::OK, "another tenant is untouched");
}

/// With no grace period configured, the admin's request shreds the workspace at once.
#[tokio::test]
async fn a_workspace_deleted_without_a_grace_period_is_shredded_in_the_request() {
    use callcoach_shared::crypto::{DataCategory, DataKeyStore};
    let w = world_with(Settings {
        deletion_grace: time::Duration::ZERO,
        ..Settings::default()
    })
    .await;
    let (status, body) = as_user(&w, &w.a, "admin", "DELETE", "/v1/workspace", None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["state"], "shredded");
    let key = w.api.ports.store.latest_data_key(&w.a, DataCategory::Transcripts).await.unwrap();
    assert!(key.is_none());
    let (status, _) = as_user(&w, &w.a, "admin", "DELETE", "/v1/workspace/deletion", None).await;
    assert_eq!(status, StatusCode::GONE, "nothing to cancel: it is shredded");
}

/// Admins name and remove admins; the last one cannot leave; nobody else touches them.
#[tokio::test]
async fn admins_name_and_remove_admins_and_the_last_cannot_leave() {
    let w = world().await;
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
    let (status, _) = as_user(&w, &w.a, "admin", "DELETE", "/v1/workspace/admins/admin", None).await;
    assert_eq!(status, StatusCode::CONFLICT, "the last admin stays");
    for who in ["owner", "manager", "r1", "stranger"] {
        for (method, path) in [
            ("GET", "/v1/workspace/admins"),
            ("PUT", "/v1/workspace/admins/r1"),
            ("DELETE", "/v1/workspace/admins/admin"),
        ] {
            let (status, text) = as_user(&w, &w.a, who, method, path, None).await;
            assert_eq!((status, text.as_str()), (StatusCode::NOT_FOUND, NOT_FOUND_BODY), "{who} {method} {path}");
        }
    }
    let (status, _) = as_user(&w, &w.b, "admin-b", "PUT", "/v1/workspace/admins/r1", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list().await, ["admin"], "another workspace's admin names no admin here");
    let (status, body) = as_user(&w, &w.a, "admin", "PUT", "/v1/workspace/admins/owner", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(list().await, ["admin", "owner"]);
    // The new admin administers the workspace; the first one leaves.
    let (status, _) = as_user(&w, &w.a, "owner", "GET", "/v1/workspace/retention", None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = as_user(&w, &w.a, "admin", "DELETE", "/v1/workspace/admins/admin", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = as_user(&w, &w.a, "admin", "GET", "/v1/workspace/retention", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "no longer an admin");
    let (status, _) = as_user(&w, &w.a, "owner", "DELETE", "/v1/workspace/admins/owner", None).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = as_user(&w, &w.a, "owner", "DELETE", "/v1/workspace/admins/nobody", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// The attack an outside review replayed on the old model: a rep (or anyone whose token
/// carries the tenant) made themselves "workspace owner" by creating a team, then destroyed
/// the workspace. Every step, and every other workspace-level power it reached, is refused
/// with the one 404 for a rep, a stranger and a team owner alike, and nothing changed.
#[tokio::test]
async fn the_two_request_workspace_takeover_is_refused_and_changes_nothing() {
    use callcoach_shared::crypto::{DataCategory, DataKeyStore};
    use callcoach_shared::ports::{AdminRepository, BlobStore, RetentionStore};
    let w = world().await;
    // A user in no team any more: the old model let any "owner" delete them.
    let store = &w.api.ports.store;
    store
        .put_membership(&Membership {
            tenant_id: w.a.clone(),
            team_id: w.west.clone(),
            user_id: user("leaver"),
            role: Role::Rep,
        })
        .await
        .unwrap();
    store.remove_membership(&w.a, &w.west, &user("leaver")).await.unwrap();
    let snapshot = || async {
        let tenant = store.get_tenant(&w.a).await.unwrap().unwrap();
        let mut teams: Vec<String> = store
            .teams_of_tenant(&w.a)
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.team_id.to_string())
            .collect();
        teams.sort();
        let key = store.latest_data_key(&w.a, DataCategory::Transcripts).await.unwrap();
        let exports = w.api.ports.blobs.list(&format!("exports/{}/", w.a)).await.unwrap();
        (
            serde_json::to_value(&tenant).unwrap(),
            teams,
            store.admins(&w.a).await.unwrap(),
            key.map(|k| k.version),
            store.known_users(&w.a).await.unwrap().contains(&user("leaver")),
            exports,
        )
    };
    let before = snapshot().await;
    let steps: [(&str, &str, Option<Value>); 10] = [
        ("POST", "/v1/teams", Some(json!({"name": "Mine"}))),
        ("DELETE", "/v1/workspace", None),
        ("PUT", "/v1/workspace/retention", Some(json!({"legal_hold": true}))),
        ("PUT", "/v1/workspace/retention", Some(json!({"transcripts_days": 30}))),
        ("GET", "/v1/workspace/retention", None),
        ("GET", "/v1/audit", None),
        ("POST", "/v1/exports", Some(json!({"scope": "workspace"}))),
        ("DELETE", "/v1/users/leaver", None),
        ("PUT", "/v1/workspace/admins/attacker", None),
        ("GET", "/v1/workspace/admins", None),
    ];
    for attacker in ["r1", "stranger", "owner"] {
        for (method, path, body) in &steps {
            let (status, text) = as_user(&w, &w.a, attacker, method, path, body.clone()).await;
            assert_eq!(
                (status, text.as_str()),
                (StatusCode::NOT_FOUND, NOT_FOUND_BODY),
                "{attacker}: {method} {path}"
            );
        }
    }
    assert_eq!(snapshot().await, before, "nothing changed");
    assert!(
        store.get_tenant(&w.a).await.unwrap().unwrap().deletion.is_none(),
        "no deletion pending"
    );
    assert_eq!(queued_export_jobs(&w).await, Vec::<String>::new(), "no export queued");
}

/// Roles x routes: admin, team owner, manager, rep, a stranger (valid token, no membership)
/// and a removed member (a former manager of the team). Each role gets a world of its own;
/// the routes that destroy come last.
#[tokio::test]
async fn the_role_matrix_covers_admins_owners_managers_reps_strangers_and_removed_members() {
    const ADMIN: u8 = 1;
    const OWNER: u8 = 2;
    const MANAGER: u8 = 4;
    const REP: u8 = 8;
    const STRANGER: u8 = 16;
    const REMOVED: u8 = 32;
    const EVERYONE: u8 = ADMIN | OWNER | MANAGER | REP | STRANGER | REMOVED;
    const VIEWERS: u8 = OWNER | MANAGER | REP;
    for (role, who) in [
        (ADMIN, "admin"),
        (OWNER, "owner"),
        (MANAGER, "manager"),
        (REP, "r1"),
        (STRANGER, "stranger"),
        (REMOVED, "ex-manager"),
    ] {
        let w = world().await;
        let members = format!("/v1/teams/{}/members", w.west);
        let (status, _) = as_user(&w, &w.a, "owner", "PUT", &format!("{members}/ex-manager"), Some(json!({"role": "manager"}))).await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = as_user(&w, &w.a, "owner", "DELETE", &format!("{members}/ex-manager"), None).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        // A known user in no team, for the one deletion that needs one.
        w.api
            .ports
            .store
            .put_membership(&Membership {
                tenant_id: w.a.clone(),
                team_id: w.east.clone(),
                user_id: user("leaver"),
                role: Role::Rep,
            })
            .await
            .unwrap();
        w.api.ports.store.remove_membership(&w.a, &w.east, &user("leaver")).await.unwrap();
        let (west, east, c1, c2) = (w.west.as_str(), w.east.as_str(), w.c1.as_str(), w.c2.as_str());
        let new_call = json!({"team_id": west, "title": "Intro", "call_type": "discovery", "file_name": "a.vtt", "content_type": "text/vtt", "content_length": 10});
        let routes: Vec<(&str, String, Option<Value>, u8)> = vec![
            ("GET", members.clone(), None, ADMIN | OWNER | MANAGER),
            ("PUT", format!("{members}/newbie"), Some(json!({"role": "rep"})), ADMIN | OWNER),
            ("DELETE", format!("{members}/newbie"), None, ADMIN | OWNER),
            ("POST", "/v1/calls".into(), Some(new_call), VIEWERS),
            ("GET", format!("/v1/calls?team_id={west}"), None, VIEWERS),
            ("GET", format!("/v1/calls/{c1}"), None, VIEWERS),
            ("GET", format!("/v1/calls/{c1}/transcript"), None, VIEWERS),
            ("GET", format!("/v1/calls/{c1}/analysis"), None, VIEWERS),
            ("GET", format!("/v1/calls/{c1}/practice"), None, VIEWERS),
            ("PUT", format!("/v1/calls/{c1}/rep-speaker"), Some(json!({"speaker": "Dana"})), OWNER | MANAGER),
            ("POST", format!("/v1/calls/{c1}/rescore"), None, OWNER | MANAGER),
            ("PUT", format!("/v1/calls/{c1}/legal-hold"), Some(json!({"legal_hold": false})), OWNER),
            ("GET", "/v1/reps/r1/progress".into(), None, VIEWERS),
            ("GET", format!("/v1/teams/{west}/playbook"), None, VIEWERS),
            ("PUT", format!("/v1/teams/{west}/playbook"), Some(json!({})), OWNER),
            ("GET", format!("/v1/prep-cards?team_id={west}&company_domain=initech.example"), None, VIEWERS),
            ("GET", "/v1/audit".into(), None, ADMIN),
            ("GET", "/v1/workspace/retention".into(), None, ADMIN),
            ("PUT", "/v1/workspace/retention".into(), Some(json!({"recordings_days_after_transcription": 30})), ADMIN),
            ("GET", "/v1/workspace/admins".into(), None, ADMIN),
            ("PUT", "/v1/workspace/admins/admin".into(), None, ADMIN),
            ("PUT", "/v1/workspace/admins/second".into(), None, ADMIN),
            ("DELETE", "/v1/workspace/admins/second".into(), None, ADMIN),
            ("PUT", format!("{members}/r2"), Some(json!({"role": "owner"})), ADMIN | OWNER),
            ("POST", "/v1/exports".into(), Some(json!({"scope": "user"})), EVERYONE),
            ("POST", "/v1/exports".into(), Some(json!({"scope": "workspace"})), ADMIN),
            ("POST", "/v1/teams".into(), Some(json!({"name": "North"})), ADMIN),
            ("DELETE", "/v1/users/leaver".into(), None, ADMIN),
            ("DELETE", "/v1/users/r3".into(), None, ADMIN),
            ("DELETE", format!("/v1/calls/{c2}"), None, OWNER | MANAGER),
            ("DELETE", format!("/v1/teams/{east}"), None, ADMIN),
            ("DELETE", "/v1/workspace".into(), None, ADMIN),
        ];
        for (method, path, body, allowed) in routes {
            let (status, text) = as_user(&w, &w.a, who, method, &path, body).await;
            if allowed & role != 0 {
                assert!(status.is_success(), "{who} {method} {path}: {status} {text}");
            } else {
                assert_eq!(
                    (status, text.as_str()),
                    (StatusCode::NOT_FOUND, NOT_FOUND_BODY),
                    "{who} {method} {path}"
                );
            }
        }
    }
}
