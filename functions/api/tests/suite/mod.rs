//! The route suite, shared by `routes.rs` (in-memory fakes) and `routes_on_aws.rs` (the real
//! adapters against the local AWS stand-in). Each target names its ports through a [`Backend`]
//! and instantiates every test here for it with [`route_suite!`], so every test runs on both.

pub mod calls;
pub mod coaching;
pub mod exports;
pub mod platform;
pub mod security;
pub mod teams;
pub mod workspace;

use std::sync::Arc;

use api::error::NOT_FOUND_BODY;
use api::{Api, Ports, Settings, router};
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
use callcoach_shared::usecases::call_details::{CallDetails, seal_details};
use callcoach_shared::usecases::calls::NewCall;
use callcoach_shared::usecases::documents::DocumentVault;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use callcoach_shared::domain::audit::AuditEvent;
use callcoach_shared::ports::{AuditLog, MAX_PAGE_SIZE, PageRequest};

/// What a test target supplies: its ports, and how to see what they queued.
pub trait Backend: Sized + 'static {
    type Ports: Ports;
    /// Ports over stores and queues no other test sees.
    async fn fresh_ports() -> Self::Ports;
    /// Two tenants no other test's world shares.
    fn fresh_tenants() -> (TenantId, TenantId);
    /// How many scoring jobs are on the scoring queue.
    async fn queued_jobs(w: &World<Self>) -> usize;
    /// The bodies of the export jobs queued so far, taken off the queue.
    async fn queued_export_jobs(w: &World<Self>) -> Vec<String>;
}

/// One `#[tokio::test]` per suite test, named as the test, over `$backend`.
macro_rules! route_suite {
    ($backend:ty) => {
        $crate::suite::route_suite!(@each $backend;
            calls::every_call_route_answers_the_same_404_for_what_the_caller_may_not_see,
            calls::listing_respects_roles_tenants_and_pages,
            calls::a_reps_listing_is_a_query_by_rep_with_sealed_cursors,
            calls::listing_filters_by_rep_type_status_company_and_date,
            calls::setting_the_rep_speaker_rescoring_without_retranscribing,
            calls::a_rescore_request_queues_a_job_of_its_own_each_time,
            calls::a_document_too_large_for_an_answer_comes_as_a_link,
            calls::deleting_and_holding_calls_follow_the_access_rules,
            calls::views_of_calls_are_recorded_as_usage_and_refused_reads_are_not,
            security::identity_comes_only_from_verified_claims,
            security::limits_answer_413_and_400_naming_the_problem,
            security::quotas_answer_429_with_retry_after_per_workspace,
            security::local_tokens_are_verified_by_the_local_gateway_and_every_bad_one_is_refused,
            security::the_two_request_workspace_takeover_is_refused_and_changes_nothing,
            security::the_role_matrix_covers_admins_owners_managers_reps_strangers_and_removed_members,
            teams::teams_members_and_calls_happy_paths_and_role_limits,
            teams::owners_set_the_team_playbook_members_read_it,
            teams::users_teams_and_workspaces_are_deleted_by_those_who_administer_them,
            teams::admins_name_and_remove_admins_and_the_last_cannot_leave,
            workspace::workspace_admins_set_bounded_retention_and_others_see_nothing,
            workspace::a_cancelled_workspace_is_locked_but_still_reads_and_exports,
            workspace::a_workspace_deleted_without_a_grace_period_is_shredded_in_the_request,
            workspace::receipts_are_read_by_their_own_workspace_admins_only,
            exports::exports_hold_exactly_what_the_caller_may_take_and_no_other_tenants_data,
            exports::a_deletion_withdraws_the_export_bundles_that_may_hold_its_data,
            coaching::rep_progress_is_visible_to_the_rep_and_their_managers_only,
            coaching::a_deleted_calls_entry_leaves_the_reps_progress,
            coaching::rep_progress_shows_each_manager_only_the_teams_they_manage,
            coaching::prep_cards_draw_on_the_calls_the_caller_may_see,
            coaching::reps_practise_answers_to_their_highlights_and_the_team_reads_them,
            coaching::reps_mark_their_own_current_goals_complete,
            platform::openapi_document_matches_the_router,
            platform::sample_api_event_is_handled,
            platform::the_entry_point_serves_http_events_and_export_job_batches,
            platform::every_mutating_route_writes_an_audit_event,
            platform::admins_list_the_audit_trail_which_never_holds_content,
        );
    };
    (@each $backend:ty; $($module:ident :: $test:ident,)*) => {
        $(
            #[tokio::test]
            async fn $test() {
                crate::suite::$module::$test::<$backend>().await
            }
        )*
    };
}
pub(crate) use route_suite;

/// Delivers `bodies` to the api function as the export-jobs queue's event source does: one
/// SQS batch through the function's entry point. Fails on any reported item failure.
async fn deliver_export_jobs<B: Backend>(w: &World<B>, bodies: &[String]) -> usize {
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
async fn run_export_jobs<B: Backend>(w: &World<B>) -> usize {
    let bodies = B::queued_export_jobs(w).await;
    deliver_export_jobs(w, &bodies).await
}

/// Delivers the job `answer` names once more (SQS delivers at least once).
async fn run_export_jobs_again<B: Backend>(w: &World<B>, answer: &Value) -> usize {
    let body = json!({"type": "export_workspace", "tenant_id": w.a.as_str(), "export_id": answer["export_id"]});
    deliver_export_jobs(w, &[body.to_string()]).await
}

/// The call as the store holds it now.
async fn stored_call<B: Backend>(w: &World<B>, tenant: &TenantId, call: &CallId) -> Call {
    w.api
        .ports
        .store()
        .get_call(tenant, call)
        .await
        .unwrap()
        .unwrap()
}

/// Every audit event of both tenants, oldest first, read through the audit port.
pub async fn audit_events<B: Backend>(w: &World<B>) -> Vec<AuditEvent> {
    let mut events = Vec::new();
    for tenant in [&w.a, &w.b] {
        let mut newest_first = Vec::new();
        let mut request = PageRequest::first(MAX_PAGE_SIZE).unwrap();
        loop {
            let page = w.api.ports.store().list(tenant, &request).await.unwrap();
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

pub struct World<B: Backend> {
    pub api: Arc<Api<B::Ports>>,
    pub a: TenantId,
    pub b: TenantId,
    pub west: TeamId,
    pub east: TeamId,
    /// (name, call): r1's scored call, r2's call, r3's call in east, tenant b's call.
    pub c1: CallId,
    pub c2: CallId,
    pub c3: CallId,
    pub cb: CallId,
}

fn user(name: &str) -> UserId {
    UserId::parse(name).unwrap()
}

async fn team<P: Ports>(
    api: &Api<P>,
    tenant: &TenantId,
    owner: &str,
    members: &[(&str, Role)],
) -> TeamId {
    let team = Team {
        schema_version: SCHEMA_VERSION,
        tenant_id: tenant.clone(),
        team_id: RandomIds.mint(),
        name: callcoach_shared::domain::org::SealedName(b"sealed".to_vec()),
        created_at: SystemClock.now(),
    };
    let store = api.ports.store();
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

async fn call<P: Ports>(api: &Api<P>, tenant: &TenantId, team: &TeamId, rep: &str) -> Call {
    let call_id: CallId = RandomIds.mint();
    let details = CallDetails {
        title: "Call".into(),
        company_domain: Some("initech.example".into()),
        buyer_persona: None,
        rep_speaker: None,
    };
    let new = NewCall {
        team_id: team.clone(),
        rep_id: user(rep),
        call_type: CallType::Discovery,
        details: seal_details(api.ports.envelope(), tenant, &call_id, &details)
            .await
            .unwrap(),
    };
    let call = new.into_call(tenant.clone(), call_id, SystemClock.now());
    api.ports.store().create_call(&call).await.unwrap();
    call
}

/// Gives a call a stored transcript and analysis, as the pipeline would.
async fn score<P: Ports>(api: &Api<P>, call: Call) {
    score_saying(api, call, "It is frozen.").await
}

/// As [`score`], with the customer's answer chosen by the test.
async fn score_saying<P: Ports>(api: &Api<P>, mut call: Call, reply: &str) {
    let vtt = format!(
        "WEBVTT\n\n00:00.000 --> 00:03.000\n<v Dana>Hi, this is Dana from Acme. What is your budget?\n\n00:03.500 --> 00:06.000\n<v Sam>{reply}\n"
    );
    let transcript = parse_vtt(&vtt).unwrap();
    let vault = DocumentVault {
        repository: api.ports.store(),
        blobs: api.ports.blobs(),
        envelope: api.ports.envelope(),
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
        api.ports.store(),
        api.ports.envelope(),
        &call.rep_id,
        &call.team_id,
        &analysis,
    )
    .await
    .unwrap();
    call.transcript_version = 1;
    call.status = CallStatus::Scored;
    api.ports.store().save_call(&mut call).await.unwrap();
}

pub async fn world<B: Backend>() -> World<B> {
    world_with::<B>(Settings::default()).await
}

pub async fn world_with<B: Backend>(settings: Settings) -> World<B> {
    world_over::<B>(B::fresh_ports().await, settings).await
}

/// The world of [`world`] over the ports given.
pub async fn world_over<B: Backend>(ports: B::Ports, settings: Settings) -> World<B> {
    let api = Arc::new(Api { ports, settings });
    let (a, b) = B::fresh_tenants();
    // Each workspace as provisioning leaves it: its record and one admin in no team.
    for (tenant, admin) in [(&a, "admin"), (&b, "admin-b")] {
        callcoach_shared::usecases::workspace::provision(
            api.ports.store(),
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
    World::<B> {
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

async fn send<B: Backend>(w: &World<B>, req: Request<Body>) -> (StatusCode, String) {
    let response = router(Arc::clone(&w.api)).oneshot(req).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(bytes.to_vec()).unwrap())
}

pub async fn as_user<B: Backend>(
    w: &World<B>,
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

/// The JSON of an answer's body.
fn json_of(body: &str) -> Value {
    serde_json::from_str(body).unwrap()
}

/// The answer to whatever the caller may not see: the same as for what does not exist.
fn the_one_404() -> Answer {
    (StatusCode::NOT_FOUND, NOT_FOUND_BODY.to_owned())
}

/// The workspace's retention settings (and its legal hold), a route many tests reach for.
const RETENTION: &str = "/v1/workspace/retention";

/// The body of `POST /v1/calls` for a call in `team` whose upload is `bytes` of VTT.
fn new_call_body(team: &str, bytes: u64) -> Value {
    json!({"team_id": team, "title": "Intro", "call_type": "discovery", "file_name": "intro.vtt", "content_type": "text/vtt", "content_length": bytes})
}

/// Makes `name` a user workspace a knows who is in no team: they joined `team` and left.
async fn former_member<B: Backend>(w: &World<B>, team: &TeamId, name: &str) {
    let store = w.api.ports.store();
    let membership = Membership {
        tenant_id: w.a.clone(),
        team_id: team.clone(),
        user_id: user(name),
        role: Role::Rep,
    };
    store.put_membership(&membership).await.unwrap();
    store
        .remove_membership(&w.a, team, &user(name))
        .await
        .unwrap();
}

/// An answer of the API: its status and its body.
type Answer = (StatusCode, String);

/// Requests in workspace a, where most of the suite acts, and the few requests many tests
/// make on the way to what they check.
impl<B: Backend> World<B> {
    /// `who` of workspace a sends the request.
    async fn send_as(&self, who: &str, method: &str, path: &str, body: Option<Value>) -> Answer {
        as_user(self, &self.a, who, method, path, body).await
    }

    /// As [`World::send_as`], asserting the answer's status (a failure names the request and
    /// the answer); the answer's body.
    async fn expect(
        &self,
        who: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
        expected: StatusCode,
    ) -> String {
        let (status, text) = self.send_as(who, method, path, body).await;
        assert_eq!(status, expected, "{who} {method} {path}: {text}");
        text
    }

    /// Asserts [`the_one_404`] for `who` of `tenant` sending the request.
    async fn expect_the_one_404(
        &self,
        tenant: &TenantId,
        who: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) {
        let answer = as_user(self, tenant, who, method, path, body).await;
        assert_eq!(answer, the_one_404(), "{who} {method} {path}");
    }

    /// For a role matrix: asserts that where `served`, `who` of `tenant` is served (any 2xx),
    /// and elsewhere gets [`the_one_404`].
    async fn expect_served_or_the_one_404(
        &self,
        served: bool,
        tenant: &TenantId,
        who: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) {
        let (status, text) = as_user(self, tenant, who, method, path, body).await;
        if served {
            assert!(
                status.is_success(),
                "{who} {method} {path}: {status} {text}"
            );
        } else {
            assert_eq!((status, text), the_one_404(), "{who} {method} {path}");
        }
    }

    /// `who` of `tenant` asks for an export of `scope` (`user` or `workspace`).
    pub async fn export_as(&self, tenant: &TenantId, who: &str, scope: &str) -> Answer {
        let body = json!({ "scope": scope });
        as_user(self, tenant, who, "POST", "/v1/exports", Some(body)).await
    }

    /// `who` of workspace a creates a call through the API (`body` as [`new_call_body`]); the
    /// answer holds the call and its upload.
    async fn create_call_as(&self, who: &str, body: Value) -> Answer {
        self.send_as(who, "POST", "/v1/calls", Some(body)).await
    }

    /// `who` of `tenant` creates a team named `name`.
    async fn create_team_as(&self, tenant: &TenantId, who: &str, name: &str) -> Answer {
        let body = json!({ "name": name });
        as_user(self, tenant, who, "POST", "/v1/teams", Some(body)).await
    }

    /// `who` of workspace a gives `member` the `role` in `team`.
    async fn set_role(&self, who: &str, team: &str, member: &str, role: &str) -> Answer {
        let path = format!("/v1/teams/{team}/members/{member}");
        self.send_as(who, "PUT", &path, Some(json!({ "role": role })))
            .await
    }

    /// `who` of workspace a deletes `call`.
    async fn delete_call_as(&self, who: &str, call: &CallId) -> Answer {
        self.send_as(who, "DELETE", &format!("/v1/calls/{call}"), None)
            .await
    }

    /// `who` of workspace a scores `speaker` as the rep of `call`.
    async fn set_rep_speaker(&self, who: &str, call: &CallId, speaker: &str) -> Answer {
        let path = format!("/v1/calls/{call}/rep-speaker");
        self.send_as(who, "PUT", &path, Some(json!({ "speaker": speaker })))
            .await
    }

    /// Stores `call` of workspace a with `status`, as the pipeline would on its way.
    async fn set_call_status(&self, call: &CallId, status: CallStatus) {
        let mut stored = stored_call(self, &self.a, call).await;
        stored.status = status;
        self.api.ports.store().save_call(&mut stored).await.unwrap();
    }

    /// `who` of workspace a puts `call` under legal hold (`on`) or lifts it.
    async fn set_legal_hold(&self, who: &str, call: &CallId, on: bool) -> Answer {
        let path = format!("/v1/calls/{call}/legal-hold");
        self.send_as(who, "PUT", &path, Some(json!({ "legal_hold": on })))
            .await
    }
}

/// Every object under workspace a's `exports/` prefix.
async fn export_objects<B: Backend>(w: &World<B>) -> Vec<String> {
    use callcoach_shared::ports::BlobStore;
    let prefix = format!("exports/{}/", w.a);
    w.api.ports.blobs().list(&prefix).await.unwrap()
}

async fn bundle_bytes<B: Backend>(w: &World<B>, key: &str) -> Vec<u8> {
    use callcoach_shared::ports::BlobStore;
    w.api.ports.blobs().get(key).await.unwrap().unwrap()
}
