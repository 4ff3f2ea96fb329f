//! HTTP API behind API Gateway. At this stage: a health route; everything else is a 404 in
//! problem+json, byte-identical whatever the path.

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use aws_lambda_events::http::HeaderMap;
use aws_lambda_events::http::header::{CONTENT_TYPE, HeaderValue};
use lambda_runtime::{Error, LambdaEvent};

pub struct Deps;

pub const NOT_FOUND_BODY: &str = r#"{"type":"about:blank","title":"Not Found","status":404,"detail":"The resource does not exist."}"#;

fn response(status: i64, content_type: &'static str, body: &str) -> ApiGatewayV2httpResponse {
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    let mut response = ApiGatewayV2httpResponse::default();
    response.status_code = status;
    response.headers = headers;
    response.body = Some(Body::Text(body.to_owned()));
    response
}

pub async fn handle(
    _deps: &Deps,
    event: LambdaEvent<ApiGatewayV2httpRequest>,
) -> Result<ApiGatewayV2httpResponse, Error> {
    let request = event.payload;
    let method = request.request_context.http.method.as_str();
    let path = request.raw_path.as_deref().unwrap_or("/");
    if method == "GET" && path == "/health" {
        return Ok(response(200, "application/json", r#"{"status":"ok"}"#));
    }
    Ok(response(404, "application/problem+json", NOT_FOUND_BODY))
}
