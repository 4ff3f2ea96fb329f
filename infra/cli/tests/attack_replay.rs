//! The outside review's attack, replayed through the README's local-identity workflow against
//! the local AWS stand-in: `callcoach provision` makes the workspace and its admin,
//! `callcoach token` issues identities, `callcoach api` serves the api function behind the
//! local authorizer, and every request goes over HTTP.
//!
//! The old model let any member (even a user in no team) create a team, become its owner and
//! so a "workspace owner", then destroy the workspace: two requests. Here a rep tries it, and
//! every workspace-level power it reached, and is answered the one 404; nothing changed.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};

use serde_json::{Value, json};

mod common;
use common::callcoach;

const NOT_FOUND_BODY: &str = r#"{"type":"about:blank","title":"Not Found","status":404,"detail":"The resource does not exist."}"#;

/// `callcoach api --port 0`, stopped when dropped.
struct LocalApi {
    child: Child,
    base: String,
}

impl LocalApi {
    fn start(dir: &Path) -> Self {
        let mut child = common::command(dir)
            .args(["api", "--port", "0"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let base = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("callcoach api printed {line:?}"))
            .to_owned();
        Self { child, base }
    }
}

impl Drop for LocalApi {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Client<'a> {
    api: &'a LocalApi,
    dir: PathBuf,
    tenant: String,
    http: reqwest::Client,
}

impl Client<'_> {
    async fn send(
        &self,
        user: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, String) {
        let token = callcoach(
            &self.dir,
            &["token", "--tenant", &self.tenant, "--user", user],
        );
        let mut request = self
            .http
            .request(method.parse().unwrap(), format!("{}{path}", self.api.base))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    }
}

#[tokio::test]
async fn a_rep_cannot_take_over_or_destroy_the_workspace_through_the_local_workflow() {
    assert!(
        std::env::var_os("AWS_ENDPOINT_URL").is_some(),
        "this test needs the local AWS stand-in: run `make test`, or \
         `infra/local-aws.sh run cargo test -p callcoach --test attack_replay`"
    );
    let dir = std::env::temp_dir().join(format!("callcoach-attack-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let nonce = format!(
        "{:x}",
        time::OffsetDateTime::now_utc().unix_timestamp_nanos()
    );
    let tenant = format!("attack-{}", &nonce[nonce.len() - 10..]);
    let provisioned = callcoach(&dir, &["provision", "--tenant", &tenant, "--admin", "boss"]);
    assert_eq!(
        serde_json::from_str::<Value>(&provisioned).unwrap(),
        json!({"workspace_created": true, "admin_added": true})
    );
    let api = LocalApi::start(&dir);
    let client = Client {
        api: &api,
        dir: dir.clone(),
        tenant,
        http: reqwest::Client::new(),
    };

    // The workspace as a customer sets it up: the admin's team, owned by a lead, with a rep.
    let (status, body) = client
        .send(
            "boss",
            "POST",
            "/v1/teams",
            Some(json!({"name": "West", "owner_id": "lead"})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let team = serde_json::from_str::<Value>(&body).unwrap()["team_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let members = format!("/v1/teams/{team}/members");
    let (status, _) = client
        .send(
            "lead",
            "PUT",
            &format!("{members}/rep-1"),
            Some(json!({"role": "rep"})),
        )
        .await;
    assert_eq!(status, 200);
    let settings = || client.send("boss", "GET", "/v1/workspace/retention", None);
    let (status, before) = settings().await;
    assert_eq!(status, 200, "{before}");

    // The two requests of the review, then everything else the old "owner" could do.
    let attack: [(&str, &str, Option<Value>); 9] = [
        ("POST", "/v1/teams", Some(json!({"name": "Mine"}))),
        ("DELETE", "/v1/workspace", None),
        (
            "PUT",
            "/v1/workspace/retention",
            Some(json!({"legal_hold": true})),
        ),
        (
            "PUT",
            "/v1/workspace/retention",
            Some(json!({"transcripts_days": 30})),
        ),
        ("GET", "/v1/audit", None),
        ("POST", "/v1/exports", Some(json!({"scope": "workspace"}))),
        ("DELETE", "/v1/users/boss", None),
        ("PUT", "/v1/workspace/admins/rep-1", None),
        ("DELETE", "/v1/workspace/admins/boss", None),
    ];
    // The rep of the review; a stranger with a valid token; and the team's own owner, whose
    // team ownership made them "workspace owner" in the old model.
    for attacker in ["rep-1", "stranger", "lead"] {
        for (method, path, body) in &attack {
            let (status, text) = client.send(attacker, method, path, body.clone()).await;
            assert_eq!(
                (status, text.as_str()),
                (404, NOT_FOUND_BODY),
                "{attacker}: {method} {path}"
            );
        }
    }
    // The rep cannot promote themselves or break up the team either.
    for (method, path, body) in [
        (
            "PUT",
            format!("{members}/rep-1"),
            Some(json!({"role": "owner"})),
        ),
        ("DELETE", format!("/v1/teams/{team}"), None),
    ] {
        let (status, text) = client.send("rep-1", method, &path, body).await;
        assert_eq!(
            (status, text.as_str()),
            (404, NOT_FOUND_BODY),
            "{method} {path}"
        );
    }
    // Tokens the local authorizer did not sign never reach the function: unsigned ones with
    // the expected key id, and ones "signed" with the public key as an HMAC secret.
    use base64::Engine;
    let b64 = |v: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
    let claims = format!(
        r#"{{"iss":"callcoach-local","aud":"callcoach-local-api","sub":"boss","custom:tenant_id":"{}","exp":4102444800}}"#,
        client.tenant
    );
    for header in [
        r#"{"alg":"none","kid":"local-1"}"#,
        r#"{"alg":"HS256","kid":"local-1"}"#,
    ] {
        let forged = format!("{}.{}.c2lnbmF0dXJl", b64(header), b64(&claims));
        let answer = client
            .http
            .delete(format!("{}/v1/workspace", api.base))
            .bearer_auth(forged)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status().as_u16(), 401, "{header}");
    }

    // Nothing changed: the same settings, no deletion pending, the same admin and members.
    assert_eq!(settings().await, (200, before));
    assert_eq!(
        client
            .send("boss", "GET", "/v1/workspace/deletion", None)
            .await,
        (404, NOT_FOUND_BODY.to_owned())
    );
    let (_, admins) = client
        .send("boss", "GET", "/v1/workspace/admins", None)
        .await;
    assert_eq!(
        serde_json::from_str::<Value>(&admins).unwrap()["items"],
        json!([{"user_id": "boss"}])
    );
    let (status, roster) = client.send("lead", "GET", &members, None).await;
    assert_eq!(status, 200);
    let roster: Value = serde_json::from_str(&roster).unwrap();
    let mut roles: Vec<String> = roster["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            format!(
                "{}:{}",
                m["user_id"].as_str().unwrap(),
                m["role"].as_str().unwrap()
            )
        })
        .collect();
    roles.sort();
    assert_eq!(roles, ["lead:owner", "rep-1:rep"]);

    // The admin's own workspace export runs as a background job through the same workflow:
    // `callcoach api` plays the export-jobs queue's delivery to the function.
    let (status, job) = client
        .send(
            "boss",
            "POST",
            "/v1/exports",
            Some(json!({"scope": "workspace"})),
        )
        .await;
    assert_eq!(status, 202, "{job}");
    let status_url = serde_json::from_str::<Value>(&job).unwrap()["status_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut job = Value::Null;
    for _ in 0..60 {
        let (status, body) = client.send("boss", "GET", &status_url, None).await;
        assert_eq!(status, 200, "{body}");
        job = serde_json::from_str(&body).unwrap();
        if job["state"] == "ready" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    assert_eq!(job["state"], "ready", "{job}");
    let sealed = reqwest::get(job["download_url"].as_str().unwrap())
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let key = callcoach_shared::crypto::bundle::BundleKey::from_base64(
        job["bundle_key"].as_str().unwrap(),
    )
    .unwrap();
    let bundle: Value = serde_json::from_slice(
        &callcoach_shared::crypto::bundle::open_bundle(&key, &sealed).unwrap(),
    )
    .unwrap();
    assert_eq!(bundle["scope"], "workspace");
    assert_eq!(
        client.send("lead", "GET", &status_url, None).await,
        (404, NOT_FOUND_BODY.to_owned()),
        "a team owner does not see the workspace's export"
    );
    drop(api);
    std::fs::remove_dir_all(&dir).unwrap();
}
