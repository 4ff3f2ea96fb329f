//! The entry point, the OpenAPI document and the audit trail.

use super::*;

/// The OpenAPI document and the router agree: every documented operation is in the route
/// table and served (it answers 401 without identity, not the fallback 404), every route is
/// documented, and every request example is accepted by the real handler's body parser.
pub async fn openapi_document_matches_the_router<B: Backend>() {
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

    let w = world::<B>().await;
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
pub async fn sample_api_event_is_handled<B: Backend>() {
    let w = world::<B>().await;
    let request =
        lambda_http::request::from_str(include_str!("../../../../events/api-get-call.json"))
            .unwrap();
    let (parts, body) = request.into_parts();
    let (status, text) = send(&w, Request::from_parts(parts, Body::from(body.to_vec()))).await;
    assert_eq!(
        (status, text.as_str()),
        (StatusCode::NOT_FOUND, NOT_FOUND_BODY)
    );
}

/// The function's one entry point tells its two kinds of invocation apart: the sample HTTP
/// API event is answered as API Gateway expects (the one 404, as a v2 response), an SQS batch
/// goes to the export jobs (a message that is no job, or another queue's, is dropped, never
/// retried: no delivery can fix it), and anything else is an error, not a panic.
pub async fn the_entry_point_serves_http_events_and_export_job_batches<B: Backend>() {
    let w = world::<B>().await;
    let context = callcoach_tests::lambda_context;
    let http: Value =
        serde_json::from_str(include_str!("../../../../events/api-get-call.json")).unwrap();
    let answer = api::entry::handle(&w.api, lambda_runtime::LambdaEvent::new(http, context()))
        .await
        .unwrap();
    assert_eq!(answer["statusCode"], 404, "{answer}");
    assert_eq!(answer["body"], NOT_FOUND_BODY);

    // The sample batch: a job of no workspace here (done, nothing to do) and a poison message
    // (dropped); a scoring job sent to this queue is no job of its own (dropped too); a job of
    // a shape this version cannot read may be a newer producer's, so it is retried.
    let batch: Value =
        serde_json::from_str(include_str!("../../../../events/api-export-job.json")).unwrap();
    let scoring = json!({"type": "score_call", "tenant_id": "acme", "transcript_version": 1,
        "call_id": "call_0123456789abcdef0123456789abcdef"});
    let wrong_queue = json!({"Records": [{"messageId": "m-0", "body": scoring.to_string()}]});
    let newer = json!({"Records": [{"messageId": "m-1", "body": "{\"type\":\"score_call\"}"}]});
    for (sqs, failed) in [
        (batch, json!([])),
        (wrong_queue, json!([])),
        (newer, json!([{"itemIdentifier": "m-1"}])),
    ] {
        let answer = api::entry::handle(&w.api, lambda_runtime::LambdaEvent::new(sqs, context()))
            .await
            .unwrap();
        assert_eq!(answer["batchItemFailures"], failed, "{answer}");
    }

    for odd in [
        json!({"Records": "nope"}),
        json!(42),
        json!({"hello": "world"}),
    ] {
        let answer = api::entry::handle(
            &w.api,
            lambda_runtime::LambdaEvent::new(odd.clone(), context()),
        )
        .await;
        assert!(answer.is_err(), "{odd}: {answer:?}");
    }
}

/// Walks the route table: every mutating route writes an audit event (who, tenant, action,
/// object, outcome, request id), whatever its outcome; reads write none.
pub async fn every_mutating_route_writes_an_audit_event<B: Backend>() {
    let w = world::<B>().await;
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
        let (status, _) = w
            .send_as("r1", method, &path, Some(json!({"name": "x"})))
            .await;
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

pub async fn admins_list_the_audit_trail_which_never_holds_content<B: Backend>() {
    let w = world::<B>().await;
    let (status, _) = w
        .create_team_as(&w.a, "admin", "Confidential Project Falcon")
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = w.create_team_as(&w.b, "admin-b", "Other tenant").await;
    assert_eq!(status, StatusCode::CREATED);
    let body = w
        .expect("admin", "GET", "/v1/audit", None, StatusCode::OK)
        .await;
    let items = json_of(&body)["items"].as_array().unwrap().clone();
    let mut actions: Vec<&str> = items
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    // Newest first: the team, then the provisioning of this workspace (the operator's, both
    // at one moment).
    actions[1..].sort();
    assert_eq!(
        actions,
        [
            "POST /v1/teams",
            "workspace.admin_added",
            "workspace.provisioned"
        ],
        "only this tenant's events: {body}"
    );
    assert!(
        !body.contains("Falcon"),
        "no request content in the audit trail"
    );
    // Reps and team owners read none of it: the trail is the workspace's.
    for who in ["r1", "manager", "owner", "stranger"] {
        w.expect_the_one_404(&w.a, who, "GET", "/v1/audit", None)
            .await;
    }
}
