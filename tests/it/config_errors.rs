//! Golden tests for `trellis check`: each folder under `tests/config_errors/` is a broken site;
//! `expected.txt` beside it holds exactly what `check` prints. Every mistake in a site must be
//! reported (not only the first), each with file:line:column.
//! Regenerate after an intended change with `UPDATE_EXPECT=1 cargo test --test it config_errors`.

use std::path::PathBuf;
use std::process::Command;

#[test]
fn check_reports_every_mistake_with_its_position() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/config_errors");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(cases.len() >= 5, "golden cases are missing");
    let mut failures = Vec::new();
    for case in cases {
        let out = Command::new(env!("CARGO_BIN_EXE_trellis"))
            .arg("check")
            .arg(&case)
            .current_dir(&case)
            .output()
            .unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        assert!(!out.status.success(), "{name}: check should fail");
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
        let expected_file = case.join("expected.txt");
        if std::env::var_os("UPDATE_EXPECT").is_some() {
            std::fs::write(&expected_file, &stderr).unwrap();
        }
        let expected = std::fs::read_to_string(&expected_file).unwrap_or_default();
        if expected != stderr {
            failures.push(format!(
                "--- {name}: expected\n{expected}\n--- {name}: got\n{stderr}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
