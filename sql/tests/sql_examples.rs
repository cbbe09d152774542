//! Runs the example scripts of `sql/examples/` through the `vrae-sql` shell,
//! in order, in one scratch directory (with `data/` linked in), and checks
//! that every statement succeeds and prints what the script is for.
//!
//! Training is shortened (2 epochs, smaller networks) by editing the
//! options in a copy of each script, so that the test takes seconds; each
//! edit is checked to apply, so a script changed without this test fails.

use std::path::PathBuf;
use std::process::Command;

const SHELL: &str = env!("CARGO_BIN_EXE_vrae-sql");

/// (script, [(text in the script, text the test runs instead)], texts stdout must contain)
type Script = (&'static str, Vec<(&'static str, &'static str)>, Vec<&'static str>);

fn scripts() -> Vec<Script> {
    vec![
        (
            "01_train_ecg5000.sql",
            vec![(r#"{"clusters": 5, "seed": 0}"#, r#"{"clusters": 5, "seed": 0, "epochs": 2, "hidden_size": 16}"#)],
            vec!["info", r#""rows":5000"#, r#""clusters":5"#],
        ),
        ("02_clusters.sql", vec![], vec!["cluster", "series", "label_5", "mean_shape_every_10th_step"]),
        ("03_anomalies.sql", vec![], vec!["score", "mean_score"]),
        ("04_etl_embeddings.sql", vec![], vec!["rows_written", "4500"]),
        (
            "05_models_per_group.sql",
            vec![(r#"{"epochs": 20, "hidden_size": 32, "latent": 8}"#, r#"{"epochs": 2, "hidden_size": 8, "latent": 8}"#)],
            vec!["trained_on", "292", "score"],
        ),
    ]
}

/// The repository root (this crate's parent), from the directory cargo
/// tells the running test (a shared target folder may keep a binary
/// compiled in another clone).
fn repo_root() -> PathBuf {
    PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo test sets CARGO_MANIFEST_DIR")).join("..")
}

fn scratch_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vrae-sql-examples-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let data = repo_root().join("data");
    std::os::unix::fs::symlink(&data, dir.join("data")).expect("link data/");
    dir
}

#[test]
fn example_scripts_run_in_the_shell() {
    let dir = scratch_dir();
    let examples = repo_root().join("sql/examples");
    let mut listed: Vec<String> = std::fs::read_dir(&examples)
        .expect("sql/examples")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".sql"))
        .collect();
    listed.sort();
    let covered: Vec<String> = scripts().iter().map(|s| s.0.to_string()).collect();
    assert_eq!(listed, covered, "every example script is run by this test");

    for (name, edits, expected) in scripts() {
        let mut text = std::fs::read_to_string(examples.join(name)).expect("script readable");
        for (from, to) in edits {
            assert!(text.contains(from), "{name} no longer contains {from}");
            text = text.replace(from, to);
        }
        let script = dir.join(name);
        std::fs::write(&script, text).expect("script copied");
        let out = Command::new(SHELL)
            .args(["-q", "--format", "table", "--maxrows", "inf", "-f"])
            .arg(&script)
            .current_dir(&dir)
            .output()
            .expect("vrae-sql runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{name}: exit {:?}\n{stderr}", out.status);
        // The CLI reports a failed statement on stderr and goes on: nothing may be there.
        assert!(stderr.trim().is_empty(), "{name} printed errors:\n{stderr}");
        for e in expected {
            assert!(stdout.contains(e), "{name}: output lacks {e:?}:\n{stdout}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn progress_goes_to_stderr_and_results_to_stdout() {
    let out = Command::new(SHELL)
        .args([
            "--format",
            "csv",
            "-c",
            r#"SELECT vrae_fit(x, '{"epochs": 2, "hidden_size": 4, "latent": 2}') IS NOT NULL AS trained FROM (VALUES (make_array(1.0, 2.0, 3.0)), (make_array(3.0, 2.0))) AS v(x)"#,
        ])
        .output()
        .expect("vrae-sql runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("trained\ntrue"), "{stdout}");
    assert!(!stdout.contains("epoch"), "progress leaked into the results: {stdout}");
    assert!(stderr.contains("vrae_fit: 2 series, epoch 1/2") && stderr.contains("epoch 2/2"), "{stderr}");
}

#[test]
fn a_failing_command_exits_non_zero_and_names_the_function() {
    let out = Command::new(SHELL).args(["-q", "-c", "SELECT vrae_embed(make_array(1.0), X'00')"]).output().expect("vrae-sql runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("vrae_embed: invalid model"), "{stderr}");
}
