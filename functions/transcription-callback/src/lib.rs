//! Transcription callback (Deepgram over API Gateway; Transcribe over EventBridge).
//! At this stage every request is refused with 401: no callback secret can be verified yet.

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use lambda_runtime::{Error, LambdaEvent};

pub struct Deps;

pub async fn handle(
    _deps: &Deps,
    _event: LambdaEvent<ApiGatewayV2httpRequest>,
) -> Result<ApiGatewayV2httpResponse, Error> {
    let mut response = ApiGatewayV2httpResponse::default();
    response.status_code = 401;
    response.body = Some(Body::Text(String::new()));
    Ok(response)
}
