//! The load run (`callcoach_tests::load`, `make load` at full size) in a small form: a few
//! tenants' calls through the pipeline with one scoring worker and then two, and a seeded mix
//! of API requests many at once over them. It proves the run still measures what the README
//! reports and that its rules hold under concurrency: every request answered as it should,
//! no answer naming another tenant, every call scored, and the reads of a call within their
//! DynamoDB round trips while others run beside them.

use std::time::Duration;

use callcoach_tests::chaos::workspace_root;
use callcoach_tests::load::{LoadPlan, Route, run};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_load_run_answers_every_request_within_its_round_trips() {
    let plan = LoadPlan {
        seed: 20_261_206,
        tenants: 4,
        requests: 150,
        concurrency: 8,
        pipeline_calls: 6,
        worker_counts: vec![1, 2],
        settle_within: Duration::from_secs(300),
        log_dir: workspace_root().join("target/load/test"),
    };
    let report = run(&plan).await.expect("the run completes");
    let tables = report.tables();
    eprintln!("{tables}");
    // No problem: every call scored, no answer naming another tenant, every AWS request
    // made inside the API request it served (so the counts below miss none).
    assert!(report.clean(), "{tables}");
    assert_eq!(report.untagged, 0, "{tables}");
    for pass in &report.pipelines {
        assert_eq!(pass.scored, pass.calls, "{tables}");
        // Timed from the client's upload to the worker's write: a call scored before its
        // upload ended would mean the clocks or the timing are wrong.
        assert!(pass.p50_s > 0.0, "{tables}");
    }
    assert_eq!(report.pipelines.len(), 2);
    let routes: Vec<Route> = report.routes.iter().map(|r| r.route).collect();
    assert_eq!(
        routes,
        [
            Route::List,
            Route::Call,
            Route::Analysis,
            Route::Transcript,
            Route::Create
        ],
        "every route of the mix was drawn"
    );
    let requests: usize = report.routes.iter().map(|r| r.requests).sum();
    assert_eq!(requests, plan.requests);
    for route in &report.routes {
        assert_eq!(route.failed, 0, "{tables}");
        assert!(route.dynamodb_mean > 0.0, "{tables}");
        // A create's bound is what it takes today (quota counters, the call and its audit
        // event): a change that adds a trip fails here and has to say why.
        let bound = match route.route {
            Route::List => 2,
            Route::Create => 6,
            _ => 3,
        };
        assert!(route.round_trips_max <= bound, "{tables}");
    }
}
