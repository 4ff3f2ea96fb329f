//! The `callcoach eval` binary on the project's own labelled fixture (figures that follow from
//! its labels), on the shared labelled set when it is there, and on broken input.

use std::path::{Path, PathBuf};
use std::process::Output;

#[allow(dead_code)] // each test binary uses its own part of the kit
mod common;

const FIGURES: [&str; 10] = [
    "objection precision",
    "objection recall",
    "objection F1",
    "objection type accuracy",
    "next-step precision",
    "next-step recall",
    "next-step F1",
    "next-step dated accuracy",
    "rep speaker accuracy",
    "rep questions close",
];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `callcoach ARGS` from the workspace root, with no cloud to reach, whatever its exit.
fn callcoach(args: &[&str]) -> Output {
    common::command(&workspace_root())
        .args(args)
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .output()
        .unwrap()
}

/// The call ids of a labels file.
fn label_ids(labels: &Path) -> Vec<String> {
    serde_json::from_slice::<Vec<serde_json::Value>>(&std::fs::read(labels).unwrap())
        .unwrap()
        .iter()
        .map(|call| call["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Each call has its line in the report.
fn assert_every_call_reported(ids: &[String], report: &str) {
    for id in ids {
        assert!(
            report.lines().any(|l| l.starts_with(&format!("{id} ["))),
            "{id}\n{report}"
        );
    }
}

fn stdout_of(out: Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The report's lines with runs of spaces squeezed, so checks do not depend on column widths.
fn squeezed(report: &str) -> Vec<String> {
    report
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

const FIXTURE_LABELS: &str = "infra/cli/tests/eval-fixture/labels.json";
const FIXTURE_CALLS: &str = "infra/cli/tests/eval-fixture/calls";

#[test]
fn fixture_figures_follow_from_its_labels() {
    let report = stdout_of(callcoach(&["eval", FIXTURE_LABELS, FIXTURE_CALLS]));
    let lines = squeezed(&report);
    // Columns: all, discovery, demo, support, fixture (the labels' kind).
    for expected in [
        "all (3) discovery (1) demo (1) support (1) fixture (3)",
        // 3 found, 4 labelled, 2 matched: the support call's objection is labelled 2 lines late.
        "objection precision 0.67 2/3 1.00 1/1 1.00 1/1 0.00 0/1 0.67 2/3",
        "objection recall 0.50 2/4 1.00 1/1 0.50 1/2 0.00 0/1 0.50 2/4",
        "objection F1 0.57 1.00 0.67 0.00 0.57",
        // Only the 2 matched count; the demo's is labelled price for a competitor objection.
        "objection type accuracy 0.50 1/2 1.00 1/1 0.00 0/1 n/a 0/0 0.50 1/2",
        "next-step precision 1.00 2/2 1.00 1/1 1.00 1/1 n/a 0/0 1.00 2/2",
        "next-step recall 1.00 2/2 1.00 1/1 1.00 1/1 n/a 0/0 1.00 2/2",
        "next-step F1 1.00 1.00 1.00 n/a 1.00",
        "next-step dated accuracy 1.00 2/2 1.00 1/1 1.00 1/1 n/a 0/0 1.00 2/2",
        "rep speaker accuracy 1.00 3/3 1.00 1/1 1.00 1/1 1.00 1/1 1.00 3/3",
        // The timed demo's rep is right only by the first-speaker fallback.
        "rep speaker unsure 0.33 1/3 0.00 0/1 1.00 1/1 0.00 0/1 0.33 1/3",
        "rep questions close 0.67 2/3 1.00 1/1 1.00 1/1 0.00 0/1 0.67 2/3",
        "fx-discovery [discovery, fixture]: objections 1/1 matched; next steps 1/1 matched; \
         rep speaker \"Dana\" right (label \"Dana\"); rep questions 3 close (label 3)",
        "fx-demo-timed [demo, fixture]: objections 1/2 matched, missed 7 other, \
         wrong type 3 competitor (label 4 price); next steps 1/1 matched; \
         rep speaker \"Alex\" right, unsure (label \"Alex\"); rep questions 2 close (label 2); timed",
        "fx-support [support, fixture]: objections 0/1 matched, missed 5 price, \
         false alarms 3 price; next steps 0/0 matched; \
         rep speaker \"Speaker A\" right (label \"Speaker A\"); rep questions 2 far (label 6)",
    ] {
        assert!(lines.iter().any(|l| l == expected), "{expected}\n{report}");
    }

    let json: serde_json::Value = serde_json::from_str(&stdout_of(callcoach(&[
        "eval",
        FIXTURE_LABELS,
        FIXTURE_CALLS,
        "--json",
    ])))
    .unwrap();
    let all = &json["groups"][0];
    assert_eq!(all["name"], "all");
    assert_eq!(
        (
            &all["objections"]["found"],
            &all["objections"]["labelled"],
            &all["objections"]["matched"],
            &all["objections"]["accuracy"]
        ),
        (
            &serde_json::json!(3),
            &serde_json::json!(4),
            &serde_json::json!(2),
            &serde_json::json!(0.5)
        )
    );
    assert_eq!(all["next_steps"]["f1"], 1.0);
    assert_eq!(json["calls"][1]["timed"], true);
    assert_eq!(
        json["calls"][2]["objections"]["false_alarms"][0]["utterance"],
        3
    );
}

/// The shared labelled set lives beside the repository (`../shared/testdata/eval`);
/// `CALLCOACH_EVAL_SET` points elsewhere (a worktree one level deeper, say).
#[test]
fn shared_set_prints_every_figure_and_every_call() {
    let set = std::env::var_os("CALLCOACH_EVAL_SET")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("../shared/testdata/eval"));
    if !set.join("labels.json").exists() {
        println!(
            "skipped: no labelled set at {} (set CALLCOACH_EVAL_SET)",
            set.display()
        );
        return;
    }
    let labels = set.join("labels.json");
    let calls = set.join("calls");
    let report = stdout_of(callcoach(&[
        "eval",
        labels.to_str().unwrap(),
        calls.to_str().unwrap(),
    ]));
    for figure in FIGURES {
        assert!(
            report.lines().any(|l| l.starts_with(figure)),
            "{figure}\n{report}"
        );
    }
    let ids = label_ids(&labels);
    assert_eq!(ids.len(), 12);
    assert_every_call_reported(&ids, &report);
}

/// The repository's own labels of real meetings and calls (`tests/eval/labels.json`): their
/// call files are derived from the real samples beside the repository by
/// `infra/eval_calls.py` (the transcripts are not in the repository), then evaluated.
#[test]
fn own_labelled_set_builds_from_the_real_samples_and_evaluates() {
    let testdata = workspace_root().join("../shared/testdata");
    if !testdata.join("transcripts").exists() {
        println!("skipped: no real samples at {}", testdata.display());
        return;
    }
    let calls = std::env::temp_dir().join(format!("callcoach-own-eval-{}", std::process::id()));
    let built = std::process::Command::new("python3")
        .arg(workspace_root().join("infra/eval_calls.py"))
        .arg(&testdata)
        .arg(&calls)
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let labels = workspace_root().join("tests/eval/labels.json");
    let report = stdout_of(callcoach(&[
        "eval",
        labels.to_str().unwrap(),
        calls.to_str().unwrap(),
    ]));
    let ids = label_ids(&labels);
    assert!(ids.len() >= 5, "{ids:?}");
    assert_every_call_reported(&ids, &report);
    std::fs::remove_dir_all(&calls).ok();
}

#[test]
fn broken_input_exits_non_zero_with_a_reason() {
    let dir = std::env::temp_dir().join(format!("callcoach-eval-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ghost = dir.join("ghost.json");
    std::fs::write(
        &ghost,
        r#"[{"id": "ghost", "rep_speaker": "Dana", "call_type": "demo", "rep_questions": 0}]"#,
    )
    .unwrap();
    let bad = dir.join("bad.json");
    std::fs::write(&bad, r#"[{"id": "a", "call_type": "demo"}]"#).unwrap();
    let ghost = ghost.to_str().unwrap();
    let bad = bad.to_str().unwrap();
    for (args, reasons) in [
        (
            vec!["eval", ghost, FIXTURE_CALLS],
            vec!["call ghost", "cannot read", "ghost.txt"],
        ),
        (
            vec!["eval", bad, FIXTURE_CALLS],
            vec!["is not a labels file", "missing field `rep_speaker`"],
        ),
        (
            vec!["eval", "no/such/labels.json", FIXTURE_CALLS],
            vec!["cannot read"],
        ),
        (vec!["eval", FIXTURE_LABELS], vec!["both needed", "usage"]),
    ] {
        let out = callcoach(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} succeeded");
        for reason in reasons {
            assert!(stderr.contains(reason), "{args:?}: {stderr}");
        }
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}
