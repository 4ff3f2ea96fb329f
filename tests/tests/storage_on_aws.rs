//! DynamoDB, S3 and SQS adapters through the real SDK, against the local stand-in.

use std::collections::HashSet;
use std::time::Duration;

use aws_sdk_sqs::Client as SqsClient;
use callcoach_shared::crypto::CachePolicy;
use callcoach_shared::domain::SCHEMA_VERSION;
use callcoach_shared::domain::call::{CallStatus, CallType};
use callcoach_shared::domain::org::{Membership, Role, Team, Tenant};
use callcoach_shared::domain::transcript::{SourceFormat, Speaker, Timing, Transcript, Utterance};
use callcoach_shared::fakes::kit::pages::{every_item, every_page};
use callcoach_shared::ids::{CallId, TeamId, UserId};
use callcoach_shared::messages::PipelineMessage;
use callcoach_shared::ports::{
    BlobStore, CallRepository, Clock, CursorError, DocumentAddress, DocumentKind,
    DocumentRepository, PageRequest, Queue, StoreError, StoredDocument, TeamRepository,
    TenantRepository,
};
use callcoach_shared::system::{RandomIds, SystemClock};
use callcoach_shared::usecases::calls::{NewCall, create_call};
use callcoach_tests::{LocalAws, fresh_tenant, items_text_under, mint};

fn new_call(team: &TeamId) -> NewCall {
    NewCall {
        team_id: team.clone(),
        rep_id: UserId::parse("rep-1").unwrap(),
        call_type: CallType::Discovery,
        details: Default::default(),
    }
}

#[tokio::test]
async fn tenants_and_teams_round_trip_and_refuse_duplicates() {
    let aws = LocalAws::connect().await;
    let table = &aws.adapters.table;
    let tenant_id = fresh_tenant();
    let tenant = Tenant::active(tenant_id.clone(), "Acme", SystemClock.now());
    table.create_tenant(&tenant).await.unwrap();
    assert!(matches!(
        table.create_tenant(&tenant).await,
        Err(StoreError::AlreadyExists)
    ));
    let stored = table.get_tenant(&tenant_id).await.unwrap().unwrap();
    assert_eq!(stored.tenant_id, tenant.tenant_id);
    assert_eq!(stored.retention, tenant.retention);

    let team = Team {
        schema_version: SCHEMA_VERSION,
        tenant_id: tenant_id.clone(),
        team_id: mint(),
        name: callcoach_shared::domain::org::SealedName(b"sealed".to_vec()),
        created_at: SystemClock.now(),
    };
    let owner = UserId::parse("owner-1").unwrap();
    let owner_membership = Membership {
        tenant_id: tenant_id.clone(),
        team_id: team.team_id.clone(),
        user_id: owner.clone(),
        role: Role::Owner,
    };
    table.create_team(&team, &owner_membership).await.unwrap();
    // A second create of the same team fails whole: the transaction writes nothing.
    let intruder = Membership {
        user_id: UserId::parse("intruder").unwrap(),
        ..owner_membership.clone()
    };
    assert!(matches!(
        table.create_team(&team, &intruder).await,
        Err(StoreError::AlreadyExists)
    ));
    let rep = Membership {
        user_id: UserId::parse("rep-1").unwrap(),
        role: Role::Rep,
        ..owner_membership.clone()
    };
    table.put_membership(&rep).await.unwrap();

    let members = table.members_of_team(&tenant_id, &team.team_id).await;
    let names: HashSet<_> = members
        .unwrap()
        .iter()
        .map(|m| m.user_id.as_str().to_owned())
        .collect();
    assert_eq!(
        names,
        HashSet::from(["owner-1".to_owned(), "rep-1".to_owned()])
    );
    assert_eq!(
        table.memberships_of_user(&tenant_id, &owner).await.unwrap(),
        vec![owner_membership]
    );
    let team_id = &team.team_id;
    table
        .remove_membership(&tenant_id, team_id, &rep.user_id)
        .await
        .unwrap();
    let reps_teams = table.memberships_of_user(&tenant_id, &rep.user_id).await;
    assert!(reps_teams.unwrap().is_empty());

    // Another tenant sees none of it.
    let other = fresh_tenant();
    assert!(table.get_team(&other, team_id).await.unwrap().is_none());
    assert!(
        table
            .members_of_team(&other, team_id)
            .await
            .unwrap()
            .is_empty()
    );
}

/// A conditional save holds on DynamoDB: a copy read before someone else's change cannot
/// write over it, whether that change moved the status or only set a legal hold (the lost
/// update a status-only condition let through).
#[tokio::test]
async fn a_stale_copy_of_a_call_never_overwrites_a_newer_write() {
    let aws = LocalAws::connect().await;
    let table = &aws.adapters.table;
    let tenant = fresh_tenant();
    let call = create_call(table, &SystemClock, &RandomIds, &tenant, new_call(&mint()))
        .await
        .unwrap();

    let (mut winner, mut loser) = (call.clone(), call.clone());
    winner
        .transition(CallStatus::Uploaded, SystemClock.now())
        .unwrap();
    table.save_call(&mut winner).await.unwrap();
    loser
        .fail(&"duplicate event".into(), SystemClock.now())
        .unwrap();
    let err = table.save_call(&mut loser).await.unwrap_err();
    assert!(matches!(err, StoreError::StaleTransition { .. }), "{err:?}");
    let stored = aws.stored(&call).await;
    assert_eq!(stored.status, CallStatus::Uploaded);
    assert_eq!(stored.failure_reason, None);

    // The owner sets a hold; a pipeline writer holding the copy from before moves the call:
    // refused, and the hold stays.
    let mut worker_copy = stored.clone();
    let mut owner_copy = stored.clone();
    owner_copy.legal_hold = true;
    table.save_call(&mut owner_copy).await.unwrap();
    worker_copy
        .transition(CallStatus::Transcribed, SystemClock.now())
        .unwrap();
    assert!(matches!(
        table.save_call(&mut worker_copy).await,
        Err(StoreError::StaleTransition { .. })
    ));
    let stored = aws.stored(&call).await;
    assert_eq!(
        (stored.status, stored.legal_hold, stored.version),
        (CallStatus::Uploaded, true, 2)
    );

    // A call that does not exist cannot be "transitioned" into existence.
    let mut ghost = call.clone();
    ghost.call_id = mint();
    assert!(table.save_call(&mut ghost).await.is_err());
    let ghost_stored = table.get_call(&tenant, &ghost.call_id).await.unwrap();
    assert!(ghost_stored.is_none());
}

/// A rep's calls come from their own index partition: pages hold nobody else's calls, and a
/// cursor of the team's listing (or another rep's) is refused there.
#[tokio::test]
async fn a_reps_calls_are_listed_by_a_query_of_their_own() {
    let aws = LocalAws::connect().await;
    let table = &aws.adapters.table;
    let tenant = fresh_tenant();
    let team: TeamId = mint();
    let mut mine = Vec::new();
    for i in 0..7 {
        let mut new = new_call(&team);
        if i % 2 == 1 {
            new.rep_id = UserId::parse("rep-2").unwrap();
        }
        let call = create_call(table, &SystemClock, &RandomIds, &tenant, new)
            .await
            .unwrap();
        if i % 2 == 0 {
            mine.push(call.call_id);
        }
    }
    let rep = UserId::parse("rep-1").unwrap();
    let listed = every_item(1, async |page| {
        table.list_rep_calls(&tenant, &team, &rep, &page).await
    })
    .await;
    assert!(listed.iter().all(|c| c.rep_id == rep));
    let seen: Vec<_> = listed.into_iter().map(|c| c.call_id).collect();
    mine.reverse();
    assert_eq!(seen, mine, "newest first, each once, none of rep-2's");
    let one = PageRequest::first(1).unwrap();
    let team_page = table.list_team_calls(&tenant, &team, &one).await.unwrap();
    let rep_2 = UserId::parse("rep-2").unwrap();
    let rep_2_page = table.list_rep_calls(&tenant, &team, &rep_2, &one).await;
    for foreign in [team_page.next.unwrap(), rep_2_page.unwrap().next.unwrap()] {
        let page = PageRequest::new(1, Some(foreign)).unwrap();
        assert!(matches!(
            table.list_rep_calls(&tenant, &team, &rep, &page).await,
            Err(StoreError::InvalidCursor(CursorError::Invalid))
        ));
    }
}

#[tokio::test]
async fn listing_pages_newest_first_and_cursors_stay_with_their_tenant_and_team() {
    let aws = LocalAws::connect().await;
    let table = &aws.adapters.table;
    let tenant = fresh_tenant();
    let team: TeamId = mint();
    let mut created = Vec::new();
    for _ in 0..23 {
        created.push(
            create_call(table, &SystemClock, &RandomIds, &tenant, new_call(&team))
                .await
                .unwrap(),
        );
    }
    let pages = every_page(10, async |page| {
        table.list_team_calls(&tenant, &team, &page).await
    })
    .await;
    for result in &pages {
        assert!(result.items.len() <= 10);
    }
    assert!(pages.len() >= 3);
    let first_cursor = pages[0].next.clone();
    let seen: Vec<CallId> = pages
        .into_iter()
        .flat_map(|page| page.items)
        .map(|c| c.call_id)
        .collect();
    created.sort_by_key(|c| std::cmp::Reverse((c.created_at, c.call_id.clone())));
    let expected: Vec<CallId> = created.iter().map(|c| c.call_id.clone()).collect();
    assert_eq!(seen, expected, "every call once, newest first");

    let second_page = PageRequest::new(10, first_cursor).unwrap();
    let (other_tenant, other_team): (_, TeamId) = (fresh_tenant(), mint());
    for (tenant, team) in [(&other_tenant, &team), (&tenant, &other_team)] {
        let err = table.list_team_calls(tenant, team, &second_page).await;
        assert!(matches!(
            err.unwrap_err(),
            StoreError::InvalidCursor(CursorError::Invalid)
        ));
    }
}

fn transcript_of_words(words: usize, canary: &str) -> Transcript {
    let text = format!("{canary} ") + &"pricing discussion continues ".repeat(words / 3);
    Transcript {
        schema_version: SCHEMA_VERSION,
        source_format: SourceFormat::WebVtt,
        timing: Timing::Utterances,
        speakers: vec![Speaker {
            label: "0".into(),
            name: Some("Dana".into()),
        }],
        utterances: vec![Utterance {
            speaker: 0,
            start_ms: 0,
            end_ms: 1000,
            text,
            words: vec![],
        }],
    }
}

#[tokio::test]
async fn documents_are_encrypted_inline_or_in_s3_when_too_large_for_an_item() {
    let aws = LocalAws::connect().await;
    let (cipher, _) = aws.cipher(CachePolicy::default());
    let vault = aws.vault(&cipher);
    let tenant = fresh_tenant();
    let (small_call, large_call): (CallId, CallId) = (mint(), mint());
    let canary = "CANARY-7f3a-transcript-text";

    let small = transcript_of_words(300, canary);
    let large = transcript_of_words(120_000, canary);
    for (call, transcript) in [(&small_call, &small), (&large_call, &large)] {
        vault
            .put_transcript(&tenant, call, 1, transcript)
            .await
            .unwrap();
    }

    let table = &aws.adapters.table;
    let stored = async |call: &CallId| {
        let document = table.get_document(DocumentAddress {
            tenant: &tenant,
            call,
            kind: DocumentKind::Transcript,
            version: 1,
        });
        document.await.unwrap().unwrap()
    };
    let StoredDocument::Inline(bytes) = stored(&small_call).await else {
        panic!("small document should be inline")
    };
    assert!(!String::from_utf8_lossy(&bytes).contains(canary));
    let StoredDocument::Blob { key } = stored(&large_call).await else {
        panic!("large document should spill to S3")
    };
    assert!(key.starts_with(&format!("documents/{tenant}/")));
    let object = aws.adapters.blobs.get(&key).await.unwrap().unwrap();
    assert!(object.len() > 400 * 1024);
    assert!(
        !String::from_utf8_lossy(&object).contains(canary),
        "plaintext in S3"
    );

    let read = async |call: &CallId, version| -> Option<Transcript> {
        let document = vault.get(&tenant, call, DocumentKind::Transcript, version);
        document.await.unwrap()
    };
    assert_eq!(read(&small_call, 1).await.unwrap(), small);
    assert_eq!(read(&large_call, 1).await.unwrap(), large);
    assert!(read(&small_call, 2).await.is_none());
}

#[tokio::test]
async fn presigned_put_is_bound_to_content_type_and_presigned_get_reads_back() {
    let aws = LocalAws::connect().await;
    let blobs = &aws.adapters.blobs;
    let tenant = fresh_tenant();
    let key = format!("uploads/{tenant}/{}/call.vtt", mint::<CallId>());
    let body = b"WEBVTT\n\n00:00.000 --> 00:01.000\n<v Dana>Hello\n".to_vec();
    let put = blobs
        .presign_put(
            &key,
            "text/vtt",
            body.len() as u64,
            Duration::from_secs(300),
        )
        .await
        .unwrap();
    assert!(
        !format!("{put:?}").contains("X-Amz-Signature"),
        "presigned URLs never print"
    );
    // S3 rejects a request whose signed headers differ (403 SignatureDoesNotMatch); the local
    // stand-in does not verify presigned signatures, so assert what the signature covers.
    let signed = put
        .url
        .split_once("X-Amz-SignedHeaders=")
        .and_then(|(_, rest)| rest.split('&').next())
        .unwrap();
    assert_eq!(signed, "content-length%3Bcontent-type%3Bhost");
    assert!(
        put.headers
            .contains(&("content-type".into(), "text/vtt".into()))
    );
    assert!(
        put.headers
            .contains(&("content-length".into(), body.len().to_string()))
    );
    assert!(put.url.contains("X-Amz-Expires=300"));
    let http = reqwest::Client::new();

    let mut request = http.put(&put.url).body(body.clone());
    for (name, value) in &put.headers {
        request = request.header(name, value);
    }
    let ok = request.send().await.unwrap();
    assert!(ok.status().is_success(), "{}", ok.status());

    let get = blobs
        .presign_get(&key, Duration::from_secs(60))
        .await
        .unwrap();
    assert!(get.url.contains("X-Amz-Expires=60"));
    let fetched = http
        .get(&get.url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(&fetched[..], &body[..]);
    assert_eq!(blobs.get_prefix(&key, 6).await.unwrap().unwrap(), b"WEBVTT");

    assert_eq!(
        blobs.list(&format!("uploads/{tenant}/")).await.unwrap(),
        vec![key.clone()]
    );
    blobs
        .delete(&[key.clone(), format!("uploads/{tenant}/missing")])
        .await
        .unwrap();
    assert!(
        blobs
            .list(&format!("uploads/{tenant}/"))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn typed_messages_are_sent_singly_and_in_batches() {
    let aws = LocalAws::connect().await;
    let sqs = SqsClient::new(&aws.sdk);
    // A queue of this test's own, so parallel tests do not read its messages.
    let name = format!("test-{}", &mint::<CallId>().as_str()[5..21]);
    let url = sqs
        .create_queue()
        .queue_name(&name)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let queue = callcoach_shared::aws::SqsQueue::new(sqs.clone(), &url);
    let tenant = fresh_tenant();
    let messages: Vec<PipelineMessage> = (0..15)
        .map(|v| PipelineMessage::ScoreCall {
            tenant_id: tenant.clone(),
            call_id: mint(),
            transcript_version: v,
        })
        .collect();
    queue.send(&messages[0]).await.unwrap();
    queue.send_batch(&messages[1..]).await.unwrap();

    let mut received = Vec::new();
    for _ in 0..20 {
        let out = sqs
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        for m in out.messages() {
            let parsed: PipelineMessage = serde_json::from_str(m.body().unwrap()).unwrap();
            received.push(parsed);
            sqs.delete_message()
                .queue_url(&url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
        if received.len() == messages.len() {
            break;
        }
    }
    let key = |m: &PipelineMessage| serde_json::to_string(m).unwrap();
    let mut got: Vec<_> = received.iter().map(key).collect();
    let mut want: Vec<_> = messages.iter().map(key).collect();
    got.sort();
    want.sort();
    assert_eq!(got, want);
    sqs.delete_queue().queue_url(&url).send().await.unwrap();
}

#[tokio::test]
async fn audit_events_are_append_only_newest_first_and_tenant_bound() {
    use callcoach_shared::domain::audit::{AuditEvent, Outcome};
    use callcoach_shared::ports::AuditLog;
    let aws = LocalAws::connect().await;
    let table = &aws.adapters.table;
    let (tenant, other) = (fresh_tenant(), fresh_tenant());
    let start = SystemClock.now();
    let mut written = Vec::new();
    for i in 0..5 {
        let event = AuditEvent {
            schema_version: SCHEMA_VERSION,
            event_id: mint(),
            tenant_id: tenant.clone(),
            actor: Some(UserId::parse("owner-1").unwrap()),
            actor_kind: "user".into(),
            action: "POST /v1/teams".into(),
            object: format!("/v1/teams/{i}"),
            outcome: Outcome::Success,
            request_id: Some(format!("req-{i}")),
            at: start + time::Duration::seconds(i),
        };
        table.append(&event).await.unwrap();
        written.push(event);
    }
    assert!(
        matches!(
            table.append(&written[0]).await,
            Err(StoreError::AlreadyExists)
        ),
        "an event is never replaced"
    );
    let pages = every_page(3, async |page| table.list(&tenant, &page).await).await;
    let first = &pages[0];
    assert_eq!(first.items.len(), 3);
    assert_eq!(first.items[0].object, "/v1/teams/4", "newest first");
    let cursor = first.next.clone().unwrap();
    let objects: Vec<_> = pages
        .iter()
        .flat_map(|page| &page.items)
        .map(|e| e.object.clone())
        .collect();
    assert_eq!(
        objects,
        (0..5)
            .rev()
            .map(|i| format!("/v1/teams/{i}"))
            .collect::<Vec<_>>()
    );
    let others = table.list(&other, &PageRequest::first(10).unwrap()).await;
    assert!(others.unwrap().items.is_empty());
    let foreign = PageRequest::new(3, Some(cursor)).unwrap();
    assert!(matches!(
        table.list(&other, &foreign).await,
        Err(StoreError::InvalidCursor(_))
    ));
}

#[tokio::test]
async fn progress_records_use_optimistic_concurrency() {
    use callcoach_shared::ports::ProgressRepository;
    let aws = LocalAws::connect().await;
    let table = &aws.adapters.table;
    let (tenant, rep) = (fresh_tenant(), UserId::parse("rep-7").unwrap());
    assert!(table.get_progress(&tenant, &rep).await.unwrap().is_none());
    for (read_at, written) in [(0, &b"first"[..]), (1, b"second")] {
        table
            .put_progress(&tenant, &rep, read_at, written)
            .await
            .unwrap();
        // A writer that read before this write loses, and changes nothing.
        assert!(matches!(
            table.put_progress(&tenant, &rep, read_at, b"stale").await,
            Err(StoreError::Conflict)
        ));
        assert_eq!(
            table.get_progress(&tenant, &rep).await.unwrap(),
            Some((read_at + 1, written.to_vec()))
        );
    }
    assert!(
        table
            .get_progress(&fresh_tenant(), &rep)
            .await
            .unwrap()
            .is_none()
    );
}

/// A playbook is stored sealed under its tenant's metadata key: the item holds none of its
/// words, another tenant finds nothing, and shredding the tenant leaves it unreadable.
#[tokio::test]
async fn team_playbooks_are_sealed_per_tenant_and_go_with_its_keys() {
    use callcoach_shared::crypto::CryptoError;
    use callcoach_shared::domain::playbook::{Playbook, Tracker};
    use callcoach_shared::usecases::playbooks::{PlaybookError, load_playbook, save_playbook};
    let aws = LocalAws::connect().await;
    let table = &aws.adapters.table;
    let (cipher, _) = aws.cipher(CachePolicy::default());
    let (tenant, team): (_, TeamId) = (fresh_tenant(), mint());
    let load = async |tenant| load_playbook(table, &cipher, tenant, &team).await;
    assert!(load(&tenant).await.unwrap().is_none());
    let playbook = Playbook {
        value_propositions: vec!["Cut ramp time".into()],
        trackers: vec![Tracker {
            name: "competitors".into(),
            phrases: vec!["gong".into()],
        }],
        ..Playbook::default()
    };
    save_playbook(table, &cipher, &tenant, &team, &playbook)
        .await
        .unwrap();
    assert_eq!(load(&tenant).await.unwrap(), Some(playbook));
    let stored = items_text_under(&aws, &[format!("T#{tenant}")]).await;
    assert!(stored.contains("playbook"), "the scan reads the item");
    for word in ["Cut ramp time", "competitors", "gong"] {
        assert!(!stored.contains(word), "{word:?} as plaintext");
    }
    let other = fresh_tenant();
    assert!(load(&other).await.unwrap().is_none());
    // A playbook an earlier version stored as plain JSON is not read (nor does it break its
    // readers): the team goes on with the default until its owner sets it again.
    let legacy_team: TeamId = mint();
    aws_sdk_dynamodb::Client::new(&aws.sdk)
        .put_item()
        .table_name(&aws.resources.table_name)
        .item(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("T#{tenant}")),
        )
        .item(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("PLAYBOOK#{legacy_team}")),
        )
        .item(
            "entity",
            aws_sdk_dynamodb::types::AttributeValue::S("playbook".into()),
        )
        .item(
            "body",
            aws_sdk_dynamodb::types::AttributeValue::S(r#"{"value_propositions":["old"]}"#.into()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        load_playbook(table, &cipher, &tenant, &legacy_team)
            .await
            .unwrap(),
        None
    );
    cipher.shred_tenant(&tenant).await.unwrap();
    assert!(matches!(
        load(&tenant).await,
        Err(PlaybookError::Crypto(CryptoError::KeyUnavailable))
    ));
}

#[tokio::test]
async fn usage_events_round_trip_newest_first_and_expired_ones_are_not_read() {
    use callcoach_shared::domain::usage::{USAGE_RETENTION, UsageEvent, UsageView};
    use callcoach_shared::ports::UsageLog;
    let aws = LocalAws::connect().await;
    let tenant = fresh_tenant();
    let user = callcoach_shared::ids::UserId::parse("viewer").unwrap();
    let now = time::OffsetDateTime::now_utc();
    let event = |days_ago: i64, view: UsageView| UsageEvent {
        tenant_id: tenant.clone(),
        user_id: user.clone(),
        call_id: mint(),
        view,
        at: now - time::Duration::days(days_ago),
    };
    let recent = event(1, UsageView::Call);
    let newer = event(0, UsageView::Analysis);
    let expired = event(USAGE_RETENTION.whole_days() + 1, UsageView::Transcript);
    for e in [&recent, &newer, &expired] {
        aws.adapters.table.record_view(e).await.unwrap();
    }
    let table = &aws.adapters.table;
    let views_of = async |user: &UserId, limit| {
        every_item(limit, async |page| {
            table.views_of_user(&tenant, user, now, &page).await
        })
        .await
    };
    assert_eq!(views_of(&user, 10).await, [newer.clone(), recent.clone()]);
    // A page at a time: the expired event is skipped wherever a page boundary falls.
    assert_eq!(views_of(&user, 1).await, [newer, recent]);
    let other = callcoach_shared::ids::UserId::parse("someone-else").unwrap();
    assert!(views_of(&other, 10).await.is_empty());
}

/// Where the reaper's scheduled run stopped is kept in the table, and cleared.
#[tokio::test]
async fn the_reapers_resume_point_round_trips() {
    use callcoach_shared::ports::RetentionStore;
    let aws = LocalAws::connect().await;
    let table = &aws.adapters.table;
    let tenant = fresh_tenant();
    table.set_reaper_resume_point(Some(&tenant)).await.unwrap();
    assert_eq!(table.reaper_resume_point().await.unwrap(), Some(tenant));
    table.set_reaper_resume_point(None).await.unwrap();
    assert_eq!(table.reaper_resume_point().await.unwrap(), None);
}

/// Idempotency claims have owners on DynamoDB: a claim that outlived its in-progress expiry
/// and was taken over can neither release nor complete the new owner's record, and completing
/// a record that is gone writes nothing (no stub without hash or expiry).
#[tokio::test]
async fn idempotency_claims_are_released_and_completed_only_by_their_owner() {
    use callcoach_shared::ports::{Claim, ClaimLease, IdempotencyKey, IdempotencyStore};
    let aws = LocalAws::connect().await;
    let table = &aws.adapters.table;
    let tenant = fresh_tenant();
    let call: CallId = mint();
    let record = IdempotencyKey {
        tenant: &tenant,
        call: Some(&call),
        key: "score#v1",
        payload_hash: "h",
    };
    let now = SystemClock.now();
    let day = now + time::Duration::days(1);
    let first = ClaimLease {
        owner: "first",
        now,
        in_progress_until: now + time::Duration::seconds(1),
        expires_at: day,
    };
    assert_eq!(table.claim(&record, first).await.unwrap(), Claim::Acquired);
    // Past the first claim's in-progress expiry, a duplicate delivery takes over.
    let later = now + time::Duration::seconds(5);
    let claim_later = async |record: &IdempotencyKey<'_>, owner: &str| {
        let lease = ClaimLease {
            owner,
            now: later,
            in_progress_until: later + time::Duration::minutes(6),
            expires_at: day,
        };
        let claim = table.claim(record, lease);
        claim.await.unwrap()
    };
    assert_eq!(claim_later(&record, "second").await, Claim::Acquired);
    // The first finishes or fails late: neither touches the second's record.
    table.release(&record, "first").await.unwrap();
    assert!(!table.complete(&record, "first").await.unwrap());
    assert_eq!(
        claim_later(&record, "third").await,
        Claim::InProgress,
        "the second still holds it"
    );
    assert!(table.complete(&record, "second").await.unwrap());
    table.release(&record, "second").await.unwrap();
    assert_eq!(
        claim_later(&record, "third").await,
        Claim::AlreadyDone,
        "a completed record is not released"
    );
    // Gone (the call's cascade took it): completing writes no stub.
    let other = IdempotencyKey {
        key: "score#v2",
        ..record.clone()
    };
    assert!(!table.complete(&other, "second").await.unwrap());
    assert_eq!(claim_later(&other, "fourth").await, Claim::Acquired);
}

/// Export job records round-trip with their states, are written again only at the version
/// they were read at (and never once gone), stay with their workspace, carry the bundle's
/// lifetime as their TTL, and go with the workspace.
#[tokio::test]
async fn export_jobs_round_trip_and_go_with_their_workspace() {
    use callcoach_shared::ports::ExportJobRepository;
    use callcoach_shared::usecases::export::{ExportCounts, ExportScope};
    use callcoach_shared::usecases::export_job::{ExportJob, ExportState};
    let aws = LocalAws::connect().await;
    let table = &aws.adapters.table;
    let (tenant, other) = (fresh_tenant(), fresh_tenant());
    let now = SystemClock.now();
    let mut job = ExportJob::queued(
        tenant.clone(),
        mint(),
        UserId::parse("admin").unwrap(),
        ExportScope::Workspace,
        now,
    );
    let export_id = job.export_id.clone();
    let stored = async |tenant| table.get_export_job(tenant, &export_id).await.unwrap();
    table.create_export_job(&job).await.unwrap();
    assert!(matches!(
        table.create_export_job(&job).await,
        Err(StoreError::AlreadyExists)
    ));
    assert_eq!(stored(&tenant).await, Some(job.clone()));
    let stale = job.clone();
    job.state = ExportState::Ready;
    job.key = Some(format!("exports/{tenant}/{}.json", job.export_id));
    job.counts = Some(ExportCounts {
        calls: 3,
        ..ExportCounts::default()
    });
    job.finished_at = Some(now);
    table.update_export_job(&job).await.unwrap();
    job.version += 1;
    assert_eq!(stored(&tenant).await, Some(job.clone()));
    // A delivery holding the version before loses: nothing is written.
    assert!(matches!(
        table.update_export_job(&stale).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(stored(&other).await, None);
    let item = aws_sdk_dynamodb::Client::new(&aws.sdk)
        .get_item()
        .table_name(&aws.resources.table_name)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("T#{tenant}#EXPORTS")),
        )
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S(job.export_id.to_string()),
        )
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert_eq!(
        item["expires_at"].as_n().unwrap(),
        &job.expires_at().unix_timestamp().to_string()
    );
    // A deletion's withdrawal note: each replaces the last, per workspace; it goes with the jobs.
    assert_eq!(table.exports_withdrawn_at(&tenant).await.unwrap(), None);
    let earlier = time::OffsetDateTime::from_unix_timestamp(now.unix_timestamp() - 60).unwrap();
    let at = time::OffsetDateTime::from_unix_timestamp(now.unix_timestamp()).unwrap();
    table
        .note_exports_withdrawn(&tenant, earlier)
        .await
        .unwrap();
    table.note_exports_withdrawn(&tenant, at).await.unwrap();
    assert_eq!(table.exports_withdrawn_at(&tenant).await.unwrap(), Some(at));
    assert_eq!(table.exports_withdrawn_at(&other).await.unwrap(), None);
    assert_eq!(table.delete_export_jobs(&other).await.unwrap(), 0);
    assert_eq!(table.delete_export_jobs(&tenant).await.unwrap(), 2);
    assert_eq!(stored(&tenant).await, None);
    assert_eq!(table.exports_withdrawn_at(&tenant).await.unwrap(), None);
    // Gone with its workspace: a delivery still at work cannot write it back.
    assert!(matches!(
        table.update_export_job(&job).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(stored(&tenant).await, None);
}

/// Quota counters are conditional adds: a spend that would pass the limit adds nothing, and a
/// workspace's destruction takes its counters. The spends go one after another: DynamoDB
/// applies a single item's conditional update atomically, which is what keeps concurrent
/// requests within the limit, but the local stand-in does not serialize them, so a
/// concurrent run here would test moto, not the adapter's condition.
#[tokio::test]
async fn quota_counters_never_pass_their_limit() {
    use callcoach_shared::ports::{BoundedAdd, QuotaCounter, QuotaStore};
    let aws = LocalAws::connect().await;
    let table = &aws.adapters.table;
    let tenant = fresh_tenant();
    let ends = SystemClock.now() + time::Duration::days(1);
    let spend = async |meter, period, amount, limit| {
        let counter = QuotaCounter {
            tenant: &tenant,
            meter,
            period,
        };
        let add = BoundedAdd {
            amount,
            limit,
            expires_at: ends,
        };
        table.add_within_limit(counter, add).await.unwrap()
    };
    let mut granted = 0;
    for _ in 0..12 {
        granted += usize::from(spend("calls", "2026-12-01", 1, 5).await);
    }
    assert_eq!(granted, 5);
    assert!(!spend("bytes", "2026-12", 11, 10).await);
    assert!(spend("bytes", "2026-12", 10, 10).await);
    assert_eq!(table.delete_quota_counters(&tenant).await.unwrap(), 2);
    assert!(spend("calls", "2026-12-01", 5, 5).await);
}

/// The audit trail's key holds the event's time: system events stamped with a stable time
/// (billing's `at`, a workspace's creation) are one event however often they are retried,
/// on DynamoDB as on the fakes.
#[tokio::test]
async fn redelivered_system_events_are_recorded_once_in_the_table() {
    use callcoach_shared::ports::AuditLog;
    use callcoach_shared::usecases::lifecycle::change_account_state;
    use callcoach_shared::usecases::workspace::{Provisioner, provision};
    let aws = LocalAws::connect().await;
    let table = &aws.adapters.table;
    let tenant = fresh_tenant();
    let admin = UserId::parse("ada").unwrap();
    let now = SystemClock.now();
    for later in [0, 5, 60] {
        provision(
            table,
            &tenant,
            &admin,
            now + time::Duration::seconds(later),
            Provisioner::SignUp,
        )
        .await
        .unwrap();
    }
    let at = now - time::Duration::minutes(2);
    for later in [0, 30, 3600] {
        let received = now + time::Duration::seconds(later);
        change_account_state(
            table,
            &tenant,
            callcoach_shared::domain::retention::AccountState::Cancelled,
            at,
            received,
        )
        .await
        .unwrap();
    }
    let events = table
        .list(&tenant, &PageRequest::first(50).unwrap())
        .await
        .unwrap()
        .items;
    let mut actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    actions.sort();
    assert_eq!(
        actions,
        [
            "account.cancelled",
            "workspace.admin_added",
            "workspace.provisioned"
        ],
        "{events:?}"
    );
}

/// Practice answers written at the same moment to one call, each its own request over the
/// real SDK: the document is changed by revision on DynamoDB, so none is lost.
#[tokio::test]
async fn practice_answers_written_at_once_are_all_kept_on_dynamodb() {
    use callcoach_shared::usecases::practice::{add_response, list_responses};
    let aws = LocalAws::connect().await;
    let tenant = fresh_tenant();
    let call: CallId = mint();
    let vtt = "WEBVTT\n\n00:00.000 --> 00:02.000\n<v Dana>What brings you here?\n\n00:02.500 --> 00:05.000\n<v Sam>Our budget is tight this quarter.\n";
    let transcript = callcoach_shared::parse::parse_as(
        callcoach_shared::parse::TranscriptFormat::WebVtt,
        vtt.as_bytes(),
    )
    .unwrap();
    let mut analysis = callcoach_shared::scoring::deterministic_analysis(
        callcoach_shared::scoring::ScoringRequest {
            tenant_id: &tenant,
            call_id: &call,
            transcript_version: 1,
            transcript: &transcript,
            playbook: &Default::default(),
            call_type: CallType::Discovery,
            rep_override: Some("Dana"),
            rep_name: None,
        },
        &RandomIds,
        SystemClock.now(),
    );
    if analysis.highlights.is_empty() {
        analysis
            .highlights
            .push(callcoach_shared::domain::analysis::Highlight {
                highlight_id: mint(),
                kind: callcoach_shared::domain::analysis::HighlightKind::StrongMoment,
                at_ms: 0,
                quote: "What brings you here?".into(),
                note: "n".into(),
            });
    }
    let highlight = analysis.highlights[0].highlight_id.as_str().to_owned();
    let (cipher, _) = aws.cipher(CachePolicy::default());
    let vault = aws.vault(&cipher);
    let rep = UserId::parse("rep-1").unwrap();
    let writes = (0..6).map(|n| {
        let (vault, analysis, highlight, rep) = (&vault, &analysis, &highlight, &rep);
        async move {
            add_response(
                vault,
                analysis,
                highlight,
                rep,
                &format!("answer {n}"),
                SystemClock.now(),
            )
            .await
            .unwrap()
        }
    });
    futures::future::join_all(writes).await;
    let mut texts: Vec<String> = list_responses(&vault, &tenant, &call)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.text)
        .collect();
    texts.sort();
    assert_eq!(
        texts,
        (0..6).map(|n| format!("answer {n}")).collect::<Vec<_>>()
    );
}

/// The upload trigger's removal of a transcript file once it is sealed: every version of that
/// content goes (a client's retried PUT makes two), a newer version of other content stays,
/// and so does every other key.
#[tokio::test]
async fn removing_the_versions_of_one_content_leaves_newer_content_and_other_keys() {
    use callcoach_shared::ports::BlobStore;
    let aws = LocalAws::connect().await;
    let blobs = &aws.adapters.blobs;
    let tenant = fresh_tenant();
    let key = format!("uploads/{tenant}/{}/upload.vtt", mint::<CallId>());
    let neighbour = format!("{key}.other");
    for _ in 0..2 {
        blobs
            .put(&key, b"WEBVTT first".to_vec(), "text/vtt")
            .await
            .unwrap();
    }
    let etag = aws_sdk_s3::Client::new(&aws.sdk)
        .head_object()
        .bucket(&aws.resources.bucket_name)
        .key(&key)
        .send()
        .await
        .unwrap()
        .e_tag
        .unwrap();
    blobs
        .put(&key, b"WEBVTT newer".to_vec(), "text/vtt")
        .await
        .unwrap();
    blobs
        .put(&neighbour, b"WEBVTT first".to_vec(), "text/vtt")
        .await
        .unwrap();
    assert_eq!(blobs.remove_versions_of(&key, &etag).await.unwrap(), 2);
    assert_eq!(
        blobs.get(&key).await.unwrap().as_deref(),
        Some(&b"WEBVTT newer"[..])
    );
    assert!(blobs.get(&neighbour).await.unwrap().is_some());
    // Unquoted, as S3's event notifications carry it: nothing of that content is left.
    assert_eq!(
        blobs
            .remove_versions_of(&key, etag.trim_matches('"'))
            .await
            .unwrap(),
        0
    );
    blobs
        .purge_prefix(&format!("uploads/{tenant}/"))
        .await
        .unwrap();
}

/// The local AWS's transactions (moto behind `infra/moto_local.py`, which backs up only the
/// items a transaction names): a transaction cancelled by its last item leaves every item of
/// it as it was, whether the earlier ones were puts of new items, updates or deletes.
#[tokio::test]
async fn a_cancelled_transaction_leaves_every_item_of_it_as_it_was() {
    use aws_sdk_dynamodb::types::{
        AttributeValue, ConditionCheck, Delete, Put, TransactWriteItem, Update,
    };
    let aws = LocalAws::connect().await;
    let ddb = aws_sdk_dynamodb::Client::new(&aws.sdk);
    let table = &aws.resources.table_name;
    let pk = format!("T#{}#TXCHECK", fresh_tenant());
    let key = |sk: &str| {
        [
            ("pk".to_owned(), AttributeValue::S(pk.clone())),
            ("sk".to_owned(), AttributeValue::S(sk.to_owned())),
        ]
        .into_iter()
        .collect::<std::collections::HashMap<_, _>>()
    };
    for sk in ["kept", "updated"] {
        let mut item = key(sk);
        item.insert("n".into(), AttributeValue::N("1".into()));
        ddb.put_item()
            .table_name(table)
            .set_item(Some(item))
            .send()
            .await
            .unwrap();
    }
    let mut new_item = key("new");
    new_item.insert("n".into(), AttributeValue::N("1".into()));
    let cancelled = ddb
        .transact_write_items()
        .transact_items(
            TransactWriteItem::builder()
                .put(
                    Put::builder()
                        .table_name(table)
                        .set_item(Some(new_item))
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .transact_items(
            TransactWriteItem::builder()
                .update(
                    Update::builder()
                        .table_name(table)
                        .set_key(Some(key("updated")))
                        .update_expression("SET n = :two")
                        .expression_attribute_values(":two", AttributeValue::N("2".into()))
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .transact_items(
            TransactWriteItem::builder()
                .delete(
                    Delete::builder()
                        .table_name(table)
                        .set_key(Some(key("kept")))
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .transact_items(
            TransactWriteItem::builder()
                .condition_check(
                    ConditionCheck::builder()
                        .table_name(table)
                        .set_key(Some(key("missing")))
                        .condition_expression("attribute_exists(pk)")
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await;
    assert!(
        cancelled.is_err(),
        "the condition on a missing item cancels it"
    );
    let read = async |sk: &str| {
        ddb.get_item()
            .table_name(table)
            .set_key(Some(key(sk)))
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .item
            .and_then(|item| item.get("n").and_then(|n| n.as_n().ok()).cloned())
    };
    assert_eq!(read("new").await, None, "the put was taken back");
    assert_eq!(
        read("updated").await.as_deref(),
        Some("1"),
        "the update was taken back"
    );
    assert_eq!(
        read("kept").await.as_deref(),
        Some("1"),
        "the delete was taken back"
    );
}
