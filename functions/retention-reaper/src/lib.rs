//! Retention reaper, run on an EventBridge schedule. At this stage it acknowledges the
//! schedule and reports an empty run.

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use lambda_runtime::{Error, LambdaEvent};
use serde::Serialize;

pub struct Deps;

#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct ReaperReport {
    pub deleted: u64,
    pub dry_run: bool,
}

pub async fn handle(
    _deps: &Deps,
    _event: LambdaEvent<EventBridgeEvent>,
) -> Result<ReaperReport, Error> {
    Ok(ReaperReport::default())
}
