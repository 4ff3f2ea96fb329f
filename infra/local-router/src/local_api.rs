//! API Gateway's HTTP API with its JWT authorizer, played locally for the api function's router:
//! a bearer token is verified here ([`LocalVerifier`], local-only tokens from `callcoach token`)
//! and its claims reach the router exactly as API Gateway hands verified claims to the function
//! (the request context of an HTTP API v2 event). A request without a valid token is answered
//! 401 here, as API Gateway does, and never reaches the router. Local only.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{Request, Response, StatusCode, header};
use serde_json::Value;
use tower::ServiceExt;

use crate::apigw;
use crate::local_auth::LocalVerifier;

/// API Gateway's own limit on a request body.
const MAX_BODY: usize = 10 * 1024 * 1024;

fn unauthorized() -> Response<Body> {
    let mut response = Response::new(Body::from(r#"{"message":"Unauthorized"}"#));
    *response.status_mut() = StatusCode::UNAUTHORIZED;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}

/// `api` behind the local authorizer.
pub fn gateway(api: Router, verifier: Arc<LocalVerifier>) -> Router {
    Router::new().fallback(move |request: Request<Body>| {
        let (api, verifier) = (api.clone(), Arc::clone(&verifier));
        async move { forward(api, &verifier, request).await }
    })
}

async fn forward(api: Router, verifier: &LocalVerifier, request: Request<Body>) -> Response<Body> {
    let claims = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| verifier.verify(v));
    let Some(claims) = claims else {
        return unauthorized();
    };
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_BODY).await else {
        let mut response = Response::new(Body::from(r#"{"message":"Request Entity Too Large"}"#));
        *response.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
        return response;
    };
    let body = (!bytes.is_empty()).then(|| String::from_utf8_lossy(&bytes).into_owned());
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    // API Gateway hands the function every claim as a string.
    let claims: serde_json::Map<String, Value> = claims
        .into_iter()
        .map(|(name, value)| {
            let text = match value {
                Value::String(text) => text,
                other => other.to_string(),
            };
            (name, Value::String(text))
        })
        .collect();
    let event = apigw::request(
        parts.method.as_str(),
        &path,
        Some(Value::Object(claims)),
        body,
    );
    match api.oneshot(event).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

/// Serves `app` on `addr` (port 0 picks one) until the task ends; returns the bound address.
pub async fn serve(
    app: Router,
    addr: SocketAddr,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((bound, task))
}
