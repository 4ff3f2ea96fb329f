//! The published export schema (`shared/schemas/export.v1.schema.json`) accepts the bundles
//! callcoach writes and refuses ones that carry more than it promises.

use callcoach_shared::fakes::{
    CallSeed, InMemoryBlobStore, InMemoryStore, fake_cipher_over, seed_transcribed_call,
};
use callcoach_shared::ids::{ExportId, TeamId, UserId};
use callcoach_shared::ports::BlobStore;
use callcoach_shared::system::SystemClock;
use callcoach_shared::usecases::export::{
    EXPORT_PART_SIZE, ExportRequest, ExportScope, write_export,
};
use callcoach_tests::{export_schema_errors, fresh_tenant, mint};
use serde_json::{Value, json};

/// A change to a valid bundle that must make it invalid.
type Mutation = fn(&mut Value);

async fn written_bundle() -> Value {
    let store = InMemoryStore::default();
    let blobs = InMemoryBlobStore::default();
    let envelope = fake_cipher_over(store.clone(), SystemClock);
    let (tenant, team, rep): (_, TeamId, _) =
        (fresh_tenant(), mint(), UserId::parse("rep-1").unwrap());
    for marker in ["first", "second"] {
        let seed = CallSeed {
            tenant: &tenant,
            team: &team,
            rep: &rep,
            utterances: 3,
            marker,
        };
        seed_transcribed_call(&store, &blobs, &envelope, seed).await;
    }
    let export_id: ExportId = mint();
    let request = ExportRequest {
        tenant: &tenant,
        requester: &rep,
        scope: ExportScope::Workspace,
        teams: vec![team],
        export_id: &export_id,
        now: time::OffsetDateTime::now_utc(),
        part_size: EXPORT_PART_SIZE,
    };
    let written = write_export(&store, &blobs, &envelope, &request)
        .await
        .unwrap();
    let sealed = blobs.get(&written.key).await.unwrap().unwrap();
    callcoach_tests::open_export(&sealed, &written.bundle_key.to_base64())
}

#[tokio::test]
async fn a_written_bundle_passes_the_schema() {
    let bundle = written_bundle().await;
    assert_eq!(bundle["calls"].as_array().unwrap().len(), 2);
    assert_eq!(export_schema_errors(&bundle), Vec::<String>::new());
}

#[tokio::test]
async fn bundles_that_carry_more_or_less_than_promised_fail_the_schema() {
    let bundle = written_bundle().await;
    let audit_event = json!({
        "schema_version": 1, "event_id": "aud_1", "tenant_id": "t", "actor": "u1",
        "actor_kind": "user", "action": "POST /v1/exports", "object": "/v1/exports",
        "outcome": "success", "request_id": null, "at": "2026-11-24T01:00:00Z"
    });
    let mut with_event = bundle.clone();
    with_event["audit_events"] = json!([audit_event]);
    assert_eq!(export_schema_errors(&with_event), Vec::<String>::new());

    let mutations: [(&str, Mutation); 5] = [
        ("content in an audit event", |b| {
            b["audit_events"][0]["text"] = json!("what the buyer said")
        }),
        ("a storage key in call metadata", |b| {
            b["calls"][0]["call"]["upload_key"] = json!("uploads/t/c/call.wav")
        }),
        ("no counts", |b| {
            b.as_object_mut().unwrap().remove("counts");
        }),
        ("another schema version", |b| {
            b["schema"] = json!("callcoach.export.v2")
        }),
        ("a score out of range", |b| {
            b["calls"][0]["analysis"] = json!({
                "schema_version": 1, "tenant_id": "t", "call_id": "c", "transcript_version": 1,
                "overall_score": 140, "scores": [], "highlights": [], "suggestions": [],
                "micro_goals": [], "metrics": {}, "created_at": "2026-11-24T01:00:00Z",
                "provenance": {"provider": "deterministic", "degraded": false}
            })
        }),
    ];
    for (what, mutate) in mutations {
        let mut broken = with_event.clone();
        mutate(&mut broken);
        assert!(!export_schema_errors(&broken).is_empty(), "{what} passed");
    }
}
