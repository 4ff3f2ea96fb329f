//! Partial batch failure for SQS-driven handlers.
//!
//! Rules (from the Lambda documentation): report only the ids of records that failed; an empty
//! or unknown id fails the whole batch, so a record without an id that fails makes the whole
//! invocation fail instead; when time runs short, stop taking records and report the rest.

use std::time::Duration;

/// What to tell Lambda about a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchVerdict {
    /// These message ids go back to the queue (possibly none).
    Failed(Vec<String>),
    /// A record could not be reported by id: fail the invocation so every record is retried.
    FailWhole,
}

/// How one record went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordOutcome {
    Done,
    /// Retry later (redelivery); counts toward the DLQ's maxReceiveCount.
    Retry,
}

/// Processes records in order. `time_left` is the invocation's remaining time; when it falls
/// below `margin` the remaining records are reported failed without being started.
pub async fn process_batch<R, F>(
    records: &[R],
    id_of: impl Fn(&R) -> Option<&str>,
    time_left: impl Fn() -> Duration,
    margin: Duration,
    mut process: F,
) -> BatchVerdict
where
    F: AsyncFnMut(&R) -> RecordOutcome,
{
    let mut failed = Vec::new();
    for (index, record) in records.iter().enumerate() {
        let id = id_of(record).filter(|id| !id.is_empty());
        if time_left() <= margin {
            for rest in &records[index..] {
                match id_of(rest).filter(|id| !id.is_empty()) {
                    Some(id) => failed.push(id.to_owned()),
                    None => return BatchVerdict::FailWhole,
                }
            }
            break;
        }
        if process(record).await == RecordOutcome::Retry {
            match id {
                Some(id) => failed.push(id.to_owned()),
                None => return BatchVerdict::FailWhole,
            }
        }
    }
    BatchVerdict::Failed(failed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn run(records: &[(Option<String>, bool)], budget_records: usize) -> BatchVerdict {
        let started = std::cell::Cell::new(0usize);
        let fut = process_batch(
            records,
            |r| r.0.as_deref(),
            || {
                if started.get() < budget_records {
                    Duration::from_secs(60)
                } else {
                    Duration::ZERO
                }
            },
            Duration::from_secs(5),
            async |r| {
                started.set(started.get() + 1);
                if r.1 {
                    RecordOutcome::Done
                } else {
                    RecordOutcome::Retry
                }
            },
        );
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(fut)
    }

    #[test]
    fn one_poison_record_fails_alone() {
        let records: Vec<_> = (0..10).map(|i| (Some(format!("m{i}")), i != 4)).collect();
        assert_eq!(
            run(&records, usize::MAX),
            BatchVerdict::Failed(vec!["m4".into()])
        );
    }

    #[test]
    fn short_time_reports_the_rest_unstarted() {
        let records: Vec<_> = (0..5).map(|i| (Some(format!("m{i}")), true)).collect();
        assert_eq!(
            run(&records, 2),
            BatchVerdict::Failed(vec!["m2".into(), "m3".into(), "m4".into()])
        );
    }

    proptest! {
        #[test]
        fn never_reports_an_empty_or_unknown_id(
            records in proptest::collection::vec((proptest::option::weighted(0.9, "[a-z0-9]{0,4}"), any::<bool>()), 0..12),
            budget in 0usize..14,
        ) {
            let ids: Vec<&str> = records.iter().filter_map(|r| r.0.as_deref()).collect();
            match run(&records, budget) {
                BatchVerdict::Failed(failed) => {
                    for id in &failed {
                        prop_assert!(!id.is_empty());
                        prop_assert!(ids.contains(&id.as_str()));
                    }
                    let expected_failures = records.iter().enumerate()
                        .filter(|(i, r)| *i >= budget || !r.1)
                        .count();
                    // Every failure is reported: none silently dropped.
                    prop_assert_eq!(failed.len(), expected_failures);
                }
                BatchVerdict::FailWhole => {
                    prop_assert!(records.iter().enumerate().any(|(i, r)| r.0.as_deref().is_none_or(str::is_empty) && (i >= budget || !r.1)));
                }
            }
        }
    }
}
