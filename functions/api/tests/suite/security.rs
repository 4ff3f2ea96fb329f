//! Identity, limits, quotas, tokens and the role matrix.

use super::*;

pub async fn identity_comes_only_from_verified_claims<B: Backend>() {
    let w = world::<B>().await;
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
    let tenant = Some(json!({"name": "x", "tenant_id": "tenant-b"}));
    let body = w
        .expect("r1", "POST", "/v1/teams", tenant, StatusCode::BAD_REQUEST)
        .await;
    assert!(body.contains("unknown field `tenant_id`"), "{body}");
    let member = format!("/v1/teams/{}/members/r1", w.west);
    let owner = Some(json!({"role": "owner", "owner_id": "r1"}));
    w.expect("r1", "PUT", &member, owner, StatusCode::BAD_REQUEST)
        .await;
}

pub async fn limits_answer_413_and_400_naming_the_problem<B: Backend>() {
    let w = world::<B>().await;
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
    let listing = format!("/v1/calls?team_id={}&limit=101", w.west);
    let body = w
        .expect("manager", "GET", &listing, None, StatusCode::BAD_REQUEST)
        .await;
    assert!(body.contains("limit"), "{body}");
    let (status, body) = w.send_as("r1", "POST", "/v1/teams", Some(json!({}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("missing field `name`"), "{body}");
    assert!(!body.contains("line"), "no parser internals: {body}");
}

/// Per-workspace quotas: over a limit the API answers 429 with `Retry-After` (the seconds
/// left in the period) and counts nothing; another workspace is unaffected; a workspace's own
/// limits (set by an operator) replace the deployment's.
pub async fn quotas_answer_429_with_retry_after_per_workspace<B: Backend>() {
    use callcoach_shared::usecases::quota::Quotas;
    use callcoach_shared::usecases::workspace::{Change, update_workspace};
    let w = world_with::<B>(Settings {
        quotas: Quotas {
            calls_per_day: 2,
            upload_bytes_per_month: 10_000,
            llm_tokens_per_month: 1_000,
            workspace_exports_per_day: 1,
        },
        ..Settings::default()
    })
    .await;
    let new_call = |team: &TeamId, bytes: u64| new_call_body(team.as_str(), bytes);
    let create = |tenant: &TenantId, who: &str, body: Value| {
        let (tenant, who) = (tenant.clone(), who.to_owned());
        let w = &w;
        async move {
            let req = request(
                "POST",
                "/v1/calls",
                claims(&tenant, &who),
                Some(body.to_string()),
            );
            let response = router(Arc::clone(&w.api)).oneshot(req).await.unwrap();
            let status = response.status();
            let retry_after = response
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().parse::<u64>().unwrap());
            let bytes = response.into_body().collect().await.unwrap().to_bytes();
            (
                status,
                retry_after,
                String::from_utf8(bytes.to_vec()).unwrap(),
            )
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
    let bteam = w
        .api
        .ports
        .store()
        .memberships_of_user(&w.b, &user("r1"))
        .await
        .unwrap()[0]
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
    update_workspace(w.api.ports.store(), &w.a, |tenant| {
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
    let export = || w.export_as(&w.b, "admin-b", "workspace");
    assert_eq!(export().await.0, StatusCode::ACCEPTED);
    let (status, body) = export().await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(body.contains("workspace_exports"), "{body}");
    assert_eq!(B::queued_export_jobs(&w).await.len(), 1);
}

/// The local workflow (`callcoach api`): the local gateway plays API Gateway's JWT authorizer,
/// verifies local tokens and refuses every malformed, expired, premature, misaddressed,
/// unsigned or foreign one before the function sees it (test 24).
pub async fn local_tokens_are_verified_by_the_local_gateway_and_every_bad_one_is_refused<
    B: Backend,
>() {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use callcoach_local_router::local_api;
    use callcoach_local_router::local_auth::{
        LOCAL_KID, LocalIssuer, LocalVerifier, generate_key_pair,
    };
    use jsonwebtoken::{Algorithm, EncodingKey, Header};

    let (private, public) = generate_key_pair();
    let w = world::<B>().await;
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

/// The attack an outside review replayed on the old model: a rep (or anyone whose token
/// carries the tenant) made themselves "workspace owner" by creating a team, then destroyed
/// the workspace. Every step, and every other workspace-level power it reached, is refused
/// with the one 404 for a rep, a stranger and a team owner alike, and nothing changed.
pub async fn the_two_request_workspace_takeover_is_refused_and_changes_nothing<B: Backend>() {
    use callcoach_shared::crypto::{DataCategory, DataKeyStore};
    use callcoach_shared::ports::{AdminRepository, RetentionStore};
    let w = world::<B>().await;
    // A user in no team any more: the old model let any "owner" delete them.
    former_member(&w, &w.west, "leaver").await;
    let store = w.api.ports.store();
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
        let key = store
            .latest_data_key(&w.a, DataCategory::Transcripts)
            .await
            .unwrap();
        let exports = export_objects(&w).await;
        (
            serde_json::to_value(&tenant).unwrap(),
            teams,
            store.admins(&w.a).await.unwrap(),
            key.map(|k| k.version),
            store
                .known_users(&w.a)
                .await
                .unwrap()
                .contains(&user("leaver")),
            exports,
        )
    };
    let before = snapshot().await;
    let steps: [(&str, &str, Option<Value>); 10] = [
        ("POST", "/v1/teams", Some(json!({"name": "Mine"}))),
        ("DELETE", "/v1/workspace", None),
        ("PUT", RETENTION, Some(json!({"legal_hold": true}))),
        ("PUT", RETENTION, Some(json!({"transcripts_days": 30}))),
        ("GET", RETENTION, None),
        ("GET", "/v1/audit", None),
        ("POST", "/v1/exports", Some(json!({"scope": "workspace"}))),
        ("DELETE", "/v1/users/leaver", None),
        ("PUT", "/v1/workspace/admins/attacker", None),
        ("GET", "/v1/workspace/admins", None),
    ];
    for attacker in ["r1", "stranger", "owner"] {
        for (method, path, body) in &steps {
            w.expect_the_one_404(&w.a, attacker, method, path, body.clone())
                .await;
        }
    }
    assert_eq!(snapshot().await, before, "nothing changed");
    assert!(
        store
            .get_tenant(&w.a)
            .await
            .unwrap()
            .unwrap()
            .deletion
            .is_none(),
        "no deletion pending"
    );
    assert_eq!(
        B::queued_export_jobs(&w).await,
        Vec::<String>::new(),
        "no export queued"
    );
}

/// Roles x routes: admin, team owner, manager, rep, a stranger (valid token, no membership)
/// and a removed member (a former manager of the team). Each role gets a world of its own;
/// the routes that destroy come last.
pub async fn the_role_matrix_covers_admins_owners_managers_reps_strangers_and_removed_members<
    B: Backend,
>() {
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
        let w = world::<B>().await;
        let members = format!("/v1/teams/{}/members", w.west);
        let (status, _) = w
            .set_role("owner", w.west.as_str(), "ex-manager", "manager")
            .await;
        assert_eq!(status, StatusCode::OK);
        let ex_manager = format!("{members}/ex-manager");
        w.expect("owner", "DELETE", &ex_manager, None, StatusCode::NO_CONTENT)
            .await;
        // A known user in no team, for the one deletion that needs one.
        former_member(&w, &w.east, "leaver").await;
        let (west, east, c1, c2) = (
            w.west.as_str(),
            w.east.as_str(),
            w.c1.as_str(),
            w.c2.as_str(),
        );
        let new_call = new_call_body(west, 10);
        let routes: Vec<(&str, String, Option<Value>, u8)> = vec![
            ("GET", members.clone(), None, ADMIN | OWNER | MANAGER),
            (
                "PUT",
                format!("{members}/newbie"),
                Some(json!({"role": "rep"})),
                ADMIN | OWNER,
            ),
            ("DELETE", format!("{members}/newbie"), None, ADMIN | OWNER),
            ("POST", "/v1/calls".into(), Some(new_call), VIEWERS),
            ("GET", format!("/v1/calls?team_id={west}"), None, VIEWERS),
            ("GET", format!("/v1/calls/{c1}"), None, VIEWERS),
            ("GET", format!("/v1/calls/{c1}/transcript"), None, VIEWERS),
            ("GET", format!("/v1/calls/{c1}/analysis"), None, VIEWERS),
            ("GET", format!("/v1/calls/{c1}/practice"), None, VIEWERS),
            (
                "PUT",
                format!("/v1/calls/{c1}/rep-speaker"),
                Some(json!({"speaker": "Dana"})),
                OWNER | MANAGER,
            ),
            (
                "POST",
                format!("/v1/calls/{c1}/rescore"),
                None,
                OWNER | MANAGER,
            ),
            (
                "PUT",
                format!("/v1/calls/{c1}/legal-hold"),
                Some(json!({"legal_hold": false})),
                OWNER,
            ),
            ("GET", "/v1/reps/r1/progress".into(), None, VIEWERS),
            ("GET", format!("/v1/teams/{west}/playbook"), None, VIEWERS),
            (
                "PUT",
                format!("/v1/teams/{west}/playbook"),
                Some(json!({})),
                OWNER,
            ),
            (
                "GET",
                format!("/v1/prep-cards?team_id={west}&company_domain=initech.example"),
                None,
                VIEWERS,
            ),
            ("GET", "/v1/audit".into(), None, ADMIN),
            ("GET", RETENTION.into(), None, ADMIN),
            (
                "PUT",
                RETENTION.into(),
                Some(json!({"recordings_days_after_transcription": 30})),
                ADMIN,
            ),
            ("GET", "/v1/workspace/admins".into(), None, ADMIN),
            ("PUT", "/v1/workspace/admins/admin".into(), None, ADMIN),
            ("PUT", "/v1/workspace/admins/second".into(), None, ADMIN),
            ("DELETE", "/v1/workspace/admins/second".into(), None, ADMIN),
            (
                "PUT",
                format!("{members}/r2"),
                Some(json!({"role": "owner"})),
                ADMIN | OWNER,
            ),
            (
                "POST",
                "/v1/exports".into(),
                Some(json!({"scope": "user"})),
                EVERYONE,
            ),
            (
                "POST",
                "/v1/exports".into(),
                Some(json!({"scope": "workspace"})),
                ADMIN,
            ),
            (
                "POST",
                "/v1/teams".into(),
                Some(json!({"name": "North"})),
                ADMIN,
            ),
            ("DELETE", "/v1/users/leaver".into(), None, ADMIN),
            ("DELETE", "/v1/users/r3".into(), None, ADMIN),
            ("DELETE", format!("/v1/calls/{c2}"), None, OWNER | MANAGER),
            ("DELETE", format!("/v1/teams/{east}"), None, ADMIN),
            ("DELETE", "/v1/workspace".into(), None, ADMIN),
        ];
        for (method, path, body, allowed) in routes {
            let served = allowed & role != 0;
            w.expect_served_or_the_one_404(served, &w.a, who, method, &path, body)
                .await;
        }
    }
}
