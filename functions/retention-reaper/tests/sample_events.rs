//! The reaper's schedule sample deserializes and is handled.

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use lambda_runtime::{Context, LambdaEvent};
use retention_reaper::{Deps, handle};

#[tokio::test]
async fn sample_schedule_is_handled() {
    let event: EventBridgeEvent =
        serde_json::from_str(include_str!("../../../events/reaper-schedule.json")).unwrap();
    assert_eq!(event.detail_type, "Scheduled Event");
    let report = handle(&Deps, LambdaEvent::new(event, Context::default()))
        .await
        .unwrap();
    assert!(!report.dry_run);
}
