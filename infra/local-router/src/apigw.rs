//! API Gateway, played locally: an HTTP API v2 event whose JWT authorizer has verified these
//! claims, converted by lambda_http exactly as in Lambda. Local only: in AWS the claims come
//! from API Gateway's authorizer, never from here.

use axum::body::Body;
use axum::http::Request;
use serde_json::{Value, json};

/// Verified claims for `user` in `tenant`, under the default tenant claim name.
pub fn claims(tenant: &str, user: &str) -> Value {
    json!({"sub": user, "custom:tenant_id": tenant})
}

/// A request as the api function receives it. `claims: None` is a request with no authorizer
/// context (which API Gateway would not forward; the function refuses it all the same).
pub fn request(
    method: &str,
    path_and_query: &str,
    claims: Option<Value>,
    body: Option<String>,
) -> Request<Body> {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let mut context = json!({
        "accountId": "123456789012", "apiId": "local", "domainName": "localhost", "domainPrefix": "local",
        "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "callcoach-local"},
        "requestId": "local-request", "routeKey": "$default", "stage": "$default",
        "time": "23/Nov/2026:10:00:00 +0000", "timeEpoch": 1_795_000_000_000u64
    });
    if let Some(claims) = claims {
        context["authorizer"] = json!({"jwt": {"claims": claims, "scopes": null}});
    }
    let event = json!({
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": query,
        "headers": {"content-type": "application/json", "host": "localhost"},
        "requestContext": context, "body": body, "isBase64Encoded": false
    });
    let request = lambda_http::request::from_str(&event.to_string())
        .expect("a well-formed API Gateway v2 event");
    let (parts, body) = request.into_parts();
    Request::from_parts(parts, Body::from(body.to_vec()))
}
