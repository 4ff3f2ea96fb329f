//! API Gateway's HTTP side, played locally for routes served by plain Lambda handlers (the
//! Deepgram callback): a listener on 127.0.0.1 turns each HTTP request into the HTTP API v2
//! event the function would get, with path parameters taken from the route template, and the
//! function's response back into HTTP. Local only.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body as LambdaBody;
use axum::body::{Body, to_bytes};
use axum::http::{Request, Response, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// API Gateway's own limit on a request body.
const MAX_BODY: usize = 10 * 1024 * 1024;

/// Path parameters of `path` under `template` (`/a/{x}/{y}`), or `None` when it does not match.
pub fn match_route(template: &str, path: &str) -> Option<HashMap<String, String>> {
    let wanted: Vec<&str> = template.trim_matches('/').split('/').collect();
    let got: Vec<&str> = path.trim_matches('/').split('/').collect();
    if wanted.len() != got.len() {
        return None;
    }
    let mut params = HashMap::new();
    for (w, g) in wanted.iter().zip(&got) {
        match w.strip_prefix('{').and_then(|w| w.strip_suffix('}')) {
            Some(name) if !g.is_empty() => {
                params.insert(name.to_owned(), (*g).to_owned());
            }
            Some(_) => return None,
            None if w == g => {}
            None => return None,
        }
    }
    Some(params)
}

/// Serves `route` (method and template) on an ephemeral local port until the task is dropped.
/// Returns the bound address.
pub async fn serve<F, Fut>(
    method: &'static str,
    route: &'static str,
    function: F,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)>
where
    F: Fn(ApiGatewayV2httpRequest) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ApiGatewayV2httpResponse> + Send + 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let function = Arc::new(function);
    let app = axum::Router::new().fallback(move |request: Request<Body>| {
        let function = Arc::clone(&function);
        async move { dispatch(method, route, function.as_ref(), request).await }
    });
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((addr, task))
}

async fn dispatch<F, Fut>(
    method: &str,
    route: &str,
    function: &F,
    request: Request<Body>,
) -> Response<Body>
where
    F: Fn(ApiGatewayV2httpRequest) -> Fut,
    Fut: Future<Output = ApiGatewayV2httpResponse>,
{
    let plain = |status: StatusCode| {
        let mut response = Response::new(Body::from("{\"message\":\"Not Found\"}"));
        *response.status_mut() = status;
        response
    };
    let path = request.uri().path().to_owned();
    let Some(params) = match_route(route, &path).filter(|_| request.method() == method) else {
        return plain(StatusCode::NOT_FOUND);
    };
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_BODY).await else {
        return plain(StatusCode::PAYLOAD_TOO_LARGE);
    };
    let mut event = ApiGatewayV2httpRequest::default();
    event.version = Some("2.0".into());
    event.route_key = Some(format!("{method} {route}"));
    event.raw_path = Some(path);
    event.raw_query_string = parts.uri.query().map(str::to_owned);
    event.headers = parts.headers;
    event.path_parameters = params;
    match String::from_utf8(bytes.to_vec()) {
        Ok(text) => event.body = Some(text),
        Err(_) => {
            event.body = Some(STANDARD.encode(&bytes));
            event.is_base64_encoded = true;
        }
    }
    let answer = function(event).await;
    let body = match answer.body {
        Some(LambdaBody::Text(text)) => Body::from(text),
        Some(LambdaBody::Binary(bytes)) => Body::from(bytes),
        _ => Body::empty(),
    };
    let mut response = Response::new(body);
    *response.status_mut() =
        StatusCode::from_u16(answer.status_code as u16).unwrap_or(StatusCode::BAD_GATEWAY);
    *response.headers_mut() = answer.headers;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_whole_segments_only() {
        let route = "/callbacks/deepgram/{tenant}/{call}";
        let params = match_route(route, "/callbacks/deepgram/acme/call_1").unwrap();
        assert_eq!(params["tenant"], "acme");
        assert_eq!(params["call"], "call_1");
        assert!(match_route(route, "/callbacks/deepgram/acme").is_none());
        assert!(match_route(route, "/callbacks/deepgram/acme/c/extra").is_none());
        assert!(match_route(route, "/callbacks/other/acme/c").is_none());
        assert!(match_route(route, "/callbacks/deepgram//c").is_none());
    }
}
