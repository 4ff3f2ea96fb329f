//! The `callcoach analyze` binary, as a user runs it: no cloud, the report or the JSON
//! analysis, and a clear non-zero exit on unreadable input.

use std::process::Command;

fn callcoach(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_callcoach"))
        .args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        // No AWS at all: an endpoint that nothing answers would fail any AWS call.
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .output()
        .unwrap()
}

#[test]
fn report_json_and_playbook() {
    let out = callcoach(&[
        "analyze",
        "events/discovery-call.vtt",
        "--rep",
        "Alex Morgan",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = String::from_utf8(out.stdout).unwrap();
    assert!(
        report.contains("COACHING REPORT")
            && report.contains("rep: Alex Morgan, speaker name matches the rep"),
        "{report}"
    );

    let dir = std::env::temp_dir().join(format!("callcoach-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let playbook = dir.join("playbook.json");
    std::fs::write(
        &playbook,
        r#"{"trackers": [{"name": "security", "phrases": ["security review", "encrypted"]}]}"#,
    )
    .unwrap();
    let out = callcoach(&[
        "analyze",
        "events/demo-call.deepgram.json",
        "--type",
        "demo",
        "--json",
        "--playbook",
        playbook.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let analysis: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(analysis["schema_version"], 2);
    assert_eq!(analysis["provenance"]["provider"], "deterministic");
    assert_eq!(analysis["metrics"]["trackers"][0]["tracker"], "security");
    assert!(analysis["scores"].as_array().unwrap().len() == 5);
}

#[test]
fn a_file_over_the_limit_is_refused_before_it_is_read_or_mapped() {
    let dir = std::env::temp_dir().join(format!("callcoach-cli-big-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let big = dir.join("big.vtt");
    let file = std::fs::File::create(&big).unwrap();
    // Sparse: 21 MiB of length without writing it.
    file.set_len(21 * 1024 * 1024).unwrap();
    let out = callcoach(&["analyze", big.to_str().unwrap()]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("is 22020096 bytes; the limit is 20971520"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn unreadable_input_exits_non_zero_with_a_reason() {
    let dir = std::env::temp_dir().join(format!("callcoach-cli-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.vtt");
    std::fs::write(&bad, "WEBVTT\n\n00:00:01.000 --> 00:00:1d.000\nhello\n").unwrap();
    for (args, reason) in [
        (
            vec!["analyze", bad.to_str().unwrap()],
            "line 3: invalid timestamp",
        ),
        (vec!["analyze", "does/not/exist.vtt"], "cannot read"),
        (vec!["analyze"], "no file given"),
        (
            vec!["analyze", "events/discovery-call.vtt", "--type", "cold"],
            "unknown call type",
        ),
        // A device has no length to check first: read up to the limit, then refused.
        (vec!["analyze", "/dev/zero"], "the limit"),
        (vec!["analyze", dir.to_str().unwrap()], "cannot read"),
    ] {
        let out = callcoach(&args);
        assert!(!out.status.success(), "{args:?} succeeded");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(reason), "{args:?}: {stderr}");
    }
}
