//! The workspace: retention, cancellation and deletion.

use super::*;

pub async fn workspace_admins_set_bounded_retention_and_others_see_nothing<B: Backend>() {
    let w = world::<B>().await;
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
    let tenant = w.api.ports.store().get_tenant(&w.a).await.unwrap().unwrap();
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

pub async fn a_cancelled_workspace_is_locked_but_still_reads_and_exports<B: Backend>() {
    use callcoach_shared::domain::retention::AccountState;
    use callcoach_shared::ports::TenantRepository;
    use callcoach_shared::usecases::lifecycle::change_account_state;
    let w = world::<B>().await;
    let (status, _) = as_user(&w, &w.a, "admin", "GET", "/v1/workspace/retention", None).await;
    assert_eq!(status, StatusCode::OK, "the workspace record exists");
    change_account_state(
        w.api.ports.store(),
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
            .store()
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
        w.api.ports.store(),
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

/// With no grace period configured, the admin's request shreds the workspace at once.
pub async fn a_workspace_deleted_without_a_grace_period_is_shredded_in_the_request<B: Backend>() {
    use callcoach_shared::crypto::{DataCategory, DataKeyStore};
    let w = world_with::<B>(Settings {
        deletion_grace: time::Duration::ZERO,
        ..Settings::default()
    })
    .await;
    let (status, body) = as_user(&w, &w.a, "admin", "DELETE", "/v1/workspace", None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["state"],
        "shredded"
    );
    let key = w
        .api
        .ports
        .store()
        .latest_data_key(&w.a, DataCategory::Transcripts)
        .await
        .unwrap();
    assert!(key.is_none());
    let (status, _) = as_user(&w, &w.a, "admin", "DELETE", "/v1/workspace/deletion", None).await;
    assert_eq!(
        status,
        StatusCode::GONE,
        "nothing to cancel: it is shredded"
    );
}
