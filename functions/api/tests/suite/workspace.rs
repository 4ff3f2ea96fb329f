//! The workspace: retention, cancellation and deletion.

use super::*;

pub async fn workspace_admins_set_bounded_retention_and_others_see_nothing<B: Backend>() {
    let w = world::<B>().await;
    let path = RETENTION;
    let defaults = json_of(&w.expect("admin", "GET", path, None, StatusCode::OK).await);
    assert_eq!(defaults["transcripts_days"], Value::Null);
    assert_eq!(defaults["recordings_days_after_transcription"], 30);
    assert_eq!(defaults["legal_hold"], false);

    for who in ["owner", "owner-east", "manager", "r1", "stranger"] {
        for (method, body) in [("GET", None), ("PUT", Some(json!({"legal_hold": true})))] {
            w.expect_the_one_404(&w.a, who, method, path, body).await;
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
        let text = w
            .expect("admin", "PUT", path, Some(body), StatusCode::BAD_REQUEST)
            .await;
        assert!(text.contains(field), "{text}");
    }
    let change = json!({"transcripts_days": 90, "recordings_days_after_transcription": 7});
    w.expect("admin", "PUT", path, Some(change), StatusCode::OK)
        .await;
    let tenant = w.api.ports.store().get_tenant(&w.a).await.unwrap().unwrap();
    assert_eq!(tenant.retention.transcripts_days, Some(90));
    assert_eq!(tenant.retention.recordings_days_after_transcription, 7);
    // Fields left out keep their value; null means "for the account's life".
    let for_life = Some(json!({"transcripts_days": null}));
    let now = json_of(&w.send_as("admin", "PUT", path, for_life).await.1);
    assert_eq!(
        (
            now["transcripts_days"].clone(),
            now["recordings_days_after_transcription"].clone()
        ),
        (Value::Null, json!(7))
    );
    // The other workspace is untouched.
    let (status, text) = as_user(&w, &w.b, "admin-b", "GET", path, None).await;
    assert_eq!((status, json_of(&text)), (StatusCode::OK, defaults));
}

pub async fn a_cancelled_workspace_is_locked_but_still_reads_and_exports<B: Backend>() {
    use callcoach_shared::domain::retention::AccountState;
    use callcoach_shared::ports::TenantRepository;
    use callcoach_shared::usecases::lifecycle::change_account_state;
    let w = world::<B>().await;
    let (status, _) = w.send_as("admin", "GET", RETENTION, None).await;
    assert_eq!(status, StatusCode::OK, "the workspace record exists");
    // Each change at its own moment: a change no newer than the last is not applied.
    let set_state = |state| {
        let now = SystemClock.now();
        change_account_state(w.api.ports.store(), &w.a, state, now, now)
    };
    set_state(AccountState::Cancelled).await.unwrap();
    assert_eq!(
        w.api
            .ports
            .store()
            .get_tenant(&w.a)
            .await
            .unwrap()
            .unwrap()
            .state,
        AccountState::Cancelled
    );
    let (status, text) = w.create_team_as(&w.a, "admin", "New").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{text}");
    assert!(text.contains("locked"));
    let (status, _) = w.delete_call_as("r1", &w.c1).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let c1 = format!("/v1/calls/{}", w.c1);
    w.expect("r1", "GET", &c1, None, StatusCode::OK).await;
    let (status, _) = w.export_as(&w.a, "r1", "user").await;
    assert_eq!(status, StatusCode::CREATED);
    // The other workspace is not locked.
    let (status, _) = w.create_team_as(&w.b, "admin-b", "New").await;
    assert_eq!(status, StatusCode::CREATED);
    // Re-activated: changes work again.
    set_state(AccountState::Active).await.unwrap();
    let (status, _) = w.create_team_as(&w.a, "admin", "New").await;
    assert_eq!(status, StatusCode::CREATED);
}

/// With no grace period configured, the admin's request shreds the workspace at once.
pub async fn a_workspace_deleted_without_a_grace_period_is_shredded_in_the_request<B: Backend>() {
    use callcoach_shared::crypto::{DataCategory, DataKeyStore};
    let w = world_with::<B>(Settings {
        deletion_grace: time::Duration::ZERO,
        ..Settings::default()
    })
    .await;
    let (status, body) = w.send_as("admin", "DELETE", "/v1/workspace", None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(json_of(&body)["state"], "shredded");
    let key = w
        .api
        .ports
        .store()
        .latest_data_key(&w.a, DataCategory::Transcripts)
        .await
        .unwrap();
    assert!(key.is_none());
    let (status, _) = w
        .send_as("admin", "DELETE", "/v1/workspace/deletion", None)
        .await;
    assert_eq!(
        status,
        StatusCode::GONE,
        "nothing to cancel: it is shredded"
    );
}

/// Receipts are the workspace admins': an admin lists their workspace's and downloads one as
/// a file that verifies offline; everyone else, another workspace's admin included, gets the
/// one 404, the same as for a receipt that never was.
pub async fn receipts_are_read_by_their_own_workspace_admins_only<B: Backend>() {
    use callcoach_shared::domain::receipt::{Removed, Subject, SubjectKind, verify};
    use callcoach_shared::fakes::LocalReceiptSigner;
    use callcoach_shared::usecases::receipts::{issue, reaper_receipt, receipt_id_of};
    let w = world::<B>().await;
    let signer = LocalReceiptSigner::default();
    let subject = Subject {
        kind: SubjectKind::Team,
        id: w.east.to_string(),
    };
    let id = receipt_id_of(&w.a, &subject);
    let now = SystemClock.now();
    let removed = Removed {
        table_items: 7,
        object_versions: 3,
        data_keys: 0,
    };
    let receipt = reaper_receipt(id.clone(), &w.a, subject, now, removed, now);
    issue(w.api.ports.store(), &signer, receipt).await.unwrap();

    let listed = json_of(
        &w.expect("admin", "GET", "/v1/receipts", None, StatusCode::OK)
            .await,
    );
    let items = listed["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{listed}");
    assert_eq!(items[0]["receipt"]["subject"]["id"], w.east.as_str());
    let path = format!("/v1/receipts/{id}");
    let file = w.expect("admin", "GET", &path, None, StatusCode::OK).await;
    let verified = verify(file.as_bytes(), &signer.public_key_der()).expect("it verifies");
    assert_eq!(verified.removed.table_items, 7);

    let (status, theirs) = as_user(&w, &w.b, "admin-b", "GET", "/v1/receipts", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json_of(&theirs)["items"], json!([]), "not workspace a's");
    w.expect_the_one_404(&w.b, "admin-b", "GET", &path, None)
        .await;
    for who in ["owner", "owner-east", "manager", "r1", "stranger"] {
        for route in ["/v1/receipts", path.as_str()] {
            w.expect_the_one_404(&w.a, who, "GET", route, None).await;
        }
    }
    let never = Subject {
        kind: SubjectKind::Call,
        id: "never".into(),
    };
    let never = format!("/v1/receipts/{}", receipt_id_of(&w.a, &never));
    for route in [never.as_str(), "/v1/receipts/not-a-receipt-id"] {
        w.expect_the_one_404(&w.a, "admin", "GET", route, None)
            .await;
    }
}
