//! Handler overhead per request, without AWS: the real router (identity, role lookup, routing,
//! validation, audit layer, JSON) over in-memory stores and the real AES-GCM envelope with an
//! in-process key. Budget: median under 1 ms in release.

use std::hint::black_box;
use std::sync::Arc;

use api::{Adapters, Api, Settings, router};
use axum::body::Body;
use axum::http::Request;
use callcoach_shared::domain::SCHEMA_VERSION;
use callcoach_shared::domain::call::CallType;
use callcoach_shared::domain::org::{Membership, Role, Team};
use callcoach_shared::domain::playbook::Playbook;
use callcoach_shared::fakes::{InMemoryBlobStore, InMemoryQueue, InMemoryStore, fake_cipher};
use callcoach_shared::ids::{TenantId, UserId};
use callcoach_shared::parse::parse_vtt;
use callcoach_shared::ports::{Clock, IdGenerator, TeamRepository};
use callcoach_shared::scoring::{ScoringRequest, deterministic_analysis};
use callcoach_shared::system::{RandomIds, SystemClock};
use callcoach_shared::usecases::calls::{NewCall, create_call};
use callcoach_shared::usecases::documents::DocumentVault;
use criterion::{Criterion, criterion_group, criterion_main};
use http_body_util::BodyExt;
use serde_json::json;
use tower::ServiceExt;

fn request(method: &str, path: &str, body: Option<String>) -> Request<Body> {
    let claims = json!({"sub": "manager", "custom:tenant_id": "tenant-a"});
    callcoach_local_router::apigw::request(method, path, Some(claims), body)
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let ports = Adapters {
        store: InMemoryStore::default(),
        blobs: InMemoryBlobStore::default(),
        envelope: fake_cipher(SystemClock),
        queue: InMemoryQueue::default(),
        jobs: InMemoryQueue::default(),
        clock: SystemClock,
        ids: RandomIds,
    };
    let api = Arc::new(Api {
        ports,
        settings: Settings::default(),
    });
    let tenant = TenantId::parse("tenant-a").unwrap();
    let (team_id, call_id) = runtime.block_on(async {
        let team = Team {
            schema_version: SCHEMA_VERSION,
            tenant_id: tenant.clone(),
            team_id: RandomIds.mint(),
            name: callcoach_shared::domain::org::SealedName(b"sealed".to_vec()),
            created_at: SystemClock.now(),
        };
        let manager = Membership {
            tenant_id: tenant.clone(),
            team_id: team.team_id.clone(),
            user_id: UserId::parse("manager").unwrap(),
            role: Role::Manager,
        };
        api.ports.store.create_team(&team, &manager).await.unwrap();
        let call = create_call(
            &api.ports.store,
            &SystemClock,
            &RandomIds,
            &tenant,
            NewCall {
                team_id: team.team_id.clone(),
                rep_id: UserId::parse("manager").unwrap(),
                call_type: CallType::Discovery,
                details: Default::default(),
            },
        )
        .await
        .unwrap();
        let transcript = parse_vtt(include_str!("../../../events/discovery-call.vtt")).unwrap();
        let analysis = deterministic_analysis(
            ScoringRequest {
                tenant_id: &tenant,
                call_id: &call.call_id,
                transcript_version: 1,
                transcript: &transcript,
                playbook: &Playbook::default(),
                call_type: CallType::Discovery,
                rep_override: None,
                rep_name: None,
            },
            &RandomIds,
            SystemClock.now(),
        );
        let vault = DocumentVault {
            repository: &api.ports.store,
            blobs: &api.ports.blobs,
            envelope: &api.ports.envelope,
        };
        vault.put_analysis(&analysis).await.unwrap();
        let mut stored = call.clone();
        stored.transcript_version = 1;
        stored.status = callcoach_shared::domain::call::CallStatus::Scored;
        callcoach_shared::ports::CallRepository::save_call(&api.ports.store, &mut stored)
            .await
            .unwrap();
        (team.team_id, call.call_id)
    });

    let send = |req: Request<Body>| {
        let app = router(Arc::clone(&api));
        runtime.block_on(async move {
            let response = app.oneshot(req).await.unwrap();
            let bytes = response.into_body().collect().await.unwrap().to_bytes();
            black_box(bytes.len())
        })
    };
    let mut group = c.benchmark_group("api handler");
    group.bench_function("GET /v1/calls/{id} (scored: decrypts the analysis)", |b| {
        let path = format!("/v1/calls/{call_id}");
        b.iter(|| send(request("GET", &path, None)))
    });
    group.bench_function("GET /v1/calls?team_id= (one page)", |b| {
        let path = format!("/v1/calls?team_id={team_id}&limit=20");
        b.iter(|| send(request("GET", &path, None)))
    });
    group.bench_function("GET a call of another tenant (the 404)", |b| {
        let path = "/v1/calls/call_00000000000000000000000000000000".to_owned();
        b.iter(|| send(request("GET", &path, None)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
