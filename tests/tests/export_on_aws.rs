//! Export bundles streamed to S3 in parts, through the real SDK against the local stand-in.

use callcoach_shared::crypto::CachePolicy;
use callcoach_shared::fakes::{CallSeed, seed_transcribed_call};
use callcoach_shared::ids::{ExportId, TeamId, TenantId, UserId};
use callcoach_shared::ports::{BlobStore, Clock};
use callcoach_shared::system::SystemClock;
use callcoach_shared::usecases::export::{
    EXPORT_PART_SIZE, ExportError, ExportRequest, ExportScope, write_export,
};
use callcoach_tests::{LocalAws, export_schema_errors, fresh_tenant, mint};
use serde_json::Value;

/// About 1 MB of bundle per seeded call.
const LINES_PER_CALL: usize = 4_000;
const CALLS: usize = 12;

fn filler(index: usize) -> String {
    format!(
        "canary-{index} {}",
        "pipeline review and next steps ".repeat(6)
    )
}

async fn seed(aws: &LocalAws, tenant: &TenantId, team: &TeamId, rep: &UserId) {
    let (cipher, _) = aws.cipher(CachePolicy::default());
    for index in 0..CALLS {
        let seed = CallSeed {
            tenant,
            team,
            rep,
            utterances: LINES_PER_CALL,
            marker: &filler(index),
        };
        seed_transcribed_call(&aws.adapters.table, &aws.adapters.blobs, &cipher, seed).await;
    }
}

async fn export(
    aws: &LocalAws,
    tenant: &TenantId,
    team: &TeamId,
    rep: &UserId,
    part_size: usize,
) -> (
    ExportId,
    Result<callcoach_shared::usecases::export::WrittenExport, ExportError>,
) {
    let (cipher, _) = aws.cipher(CachePolicy::default());
    let export_id: ExportId = mint();
    let request = ExportRequest {
        tenant,
        requester: rep,
        scope: ExportScope::User,
        teams: vec![team.clone()],
        export_id: &export_id,
        now: SystemClock.now(),
        part_size,
    };
    let result = write_export(&aws.adapters.table, &aws.adapters.blobs, &cipher, &request).await;
    (export_id, result)
}

async fn unfinished_uploads(aws: &LocalAws, prefix: &str) -> usize {
    let s3 = aws_sdk_s3::Client::new(&aws.sdk);
    let out = s3
        .list_multipart_uploads()
        .bucket(&aws.resources.bucket_name)
        .prefix(prefix)
        .send()
        .await
        .unwrap();
    out.uploads().len()
}

#[tokio::test]
async fn a_large_export_is_written_in_parts_and_downloads_whole_through_its_link() {
    let aws = LocalAws::connect().await;
    let (tenant, team, rep) = (fresh_tenant(), mint(), UserId::parse("rep-1").unwrap());
    seed(&aws, &tenant, &team, &rep).await;

    let (_, result) = export(&aws, &tenant, &team, &rep, EXPORT_PART_SIZE).await;
    let written = result.unwrap();
    let (key, counts) = (&written.key, &written.counts);
    assert_eq!(counts.calls, CALLS as u64);
    assert_eq!(counts.transcripts, CALLS as u64);

    // S3 names a multipart object's ETag "{digest}-{parts}"; the object is encrypted at rest.
    let s3 = aws_sdk_s3::Client::new(&aws.sdk);
    let head = s3
        .head_object()
        .bucket(&aws.resources.bucket_name)
        .key(key)
        .send()
        .await
        .unwrap();
    let size = head.content_length().unwrap() as usize;
    assert!(size > 2 * EXPORT_PART_SIZE, "bundle of {size} bytes");
    let parts: usize = head
        .e_tag()
        .unwrap()
        .trim_matches('"')
        .rsplit_once('-')
        .expect("a multipart ETag")
        .1
        .parse()
        .unwrap();
    // Every part but the last holds at least a part's worth.
    assert!(
        parts >= 2 && parts <= size / EXPORT_PART_SIZE + 1,
        "{parts} parts"
    );
    assert_eq!(
        head.server_side_encryption().map(|e| e.as_str()),
        Some("aws:kms")
    );

    // The link the API hands out downloads the whole bundle.
    let link = aws
        .adapters
        .blobs
        .presign_get(key, std::time::Duration::from_secs(60))
        .await
        .unwrap();
    let body = reqwest::get(&link.url)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(body.len(), size);
    // What S3 holds (and every backup or old version of it) is sealed: no transcript line is
    // readable without the key the requester was handed.
    assert!(!body.windows(9).any(|w| w == b"canary-0 "));
    assert!(serde_json::from_slice::<Value>(&body).is_err());
    let bundle = callcoach_tests::open_export(&body, &written.bundle_key.to_base64());
    assert_eq!(export_schema_errors(&bundle), Vec::<String>::new());
    let calls = bundle["calls"].as_array().unwrap();
    assert_eq!(calls.len(), CALLS);
    for index in 0..CALLS {
        let canary = format!("canary-{index} ");
        let holding = calls
            .iter()
            .filter(|c| {
                let lines = c["transcript"]["utterances"].as_array().unwrap();
                lines.len() == LINES_PER_CALL
                    && lines
                        .iter()
                        .all(|l| l["text"].as_str().unwrap().contains(&canary))
            })
            .count();
        assert_eq!(holding, 1, "call {index} is in the bundle once, whole");
    }
    assert_eq!(
        unfinished_uploads(&aws, &format!("exports/{tenant}/")).await,
        0
    );
}

#[tokio::test]
async fn an_export_s3_refuses_to_complete_leaves_no_object_and_no_parts() {
    let aws = LocalAws::connect().await;
    let (tenant, team, rep) = (fresh_tenant(), mint(), UserId::parse("rep-1").unwrap());
    seed(&aws, &tenant, &team, &rep).await;

    // Parts under 5 MiB are accepted one by one and refused when completing (EntityTooSmall).
    let (export_id, result) = export(&aws, &tenant, &team, &rep, 1024 * 1024).await;
    assert!(matches!(result, Err(ExportError::Blob(_))), "{result:?}");
    let key = callcoach_shared::keys::user_export_key(&tenant, &rep, &export_id);
    assert!(aws.adapters.blobs.get(&key).await.unwrap().is_none());
    assert_eq!(
        unfinished_uploads(&aws, &format!("exports/{tenant}/")).await,
        0
    );
}

#[tokio::test]
async fn a_purge_leaves_unfinished_uploads_and_aborting_the_prefix_discards_them() {
    let aws = LocalAws::connect().await;
    let tenant = fresh_tenant();
    let blobs = &aws.adapters.blobs;
    let prefix = format!("exports/{tenant}/");
    let upload = blobs
        .start_parts(&format!("{prefix}crashed.json"), "application/json")
        .await
        .unwrap();
    blobs
        .put_part(&upload, 1, b"{\"calls\":[".to_vec())
        .await
        .unwrap();
    assert_eq!(unfinished_uploads(&aws, &prefix).await, 1);

    // A purge (one per deleted call in the reaper) does not list uploads...
    blobs.purge_prefix(&prefix).await.unwrap();
    assert_eq!(unfinished_uploads(&aws, &prefix).await, 1);
    // ...a workspace's destruction aborts them first.
    blobs.abort_unfinished(&prefix).await.unwrap();
    assert_eq!(unfinished_uploads(&aws, &prefix).await, 0);
    // Aborting what is already gone is not an error (a retried purge).
    blobs.abort_parts(&upload).await.unwrap();
}
