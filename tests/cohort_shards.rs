//! `clinic cohort ROSTER --shard K/N` and `clinic cohort merge`: the merge of the parts is the
//! single run's output byte for byte, and parts that do not add up to one roster are refused.

mod common;

use std::path::Path;
use std::process::Output;

use common::git::{temp_dir, RepoBuilder};
use common::snapshot;

/// `clinic ARGS` in `dir`, at the tests' fixed clock (`SOURCE_DATE_EPOCH`).
fn clinic(args: &[&str], dir: &Path) -> Output {
    clinic_at(args, dir, common::SOURCE_DATE_EPOCH)
}

/// `clinic ARGS` in `dir`, at the clock `epoch` (seconds).
fn clinic_at(args: &[&str], dir: &Path, epoch: &str) -> Output {
    common::clinic_command()
        .args(args)
        .current_dir(dir)
        .env("SOURCE_DATE_EPOCH", epoch)
        .output()
        .unwrap()
}

/// Nine students: two demo repositories (all four badges), five small ones, a missing folder
/// and a roster entry without a source.
fn class(root: &Path) {
    RepoBuilder::demo(&root.join("students/ada"));
    RepoBuilder::demo(&root.join("students/grace"));
    for i in 0..5 {
        RepoBuilder::init(&root.join(format!("students/s{i}")))
            .write("README.md", &format!("# Student {i}\n"))
            .commit("2026-09-01 10:00", &format!("Start student {i}"));
    }
    let mut roster = String::from("title: Sharded cohort\nstudents:\n");
    roster.push_str("  - name: Ada\n    repo: students/ada\n");
    for i in 0..5 {
        roster.push_str(&format!("  - name: Student {i}\n    repo: students/s{i}\n"));
    }
    roster.push_str("  - name: Nobody\n    repo: students/nobody\n");
    roster.push_str("  - name: Grace\n    repo: students/grace\n");
    roster.push_str("  - name: Nameless source\n");
    std::fs::write(root.join("roster.yaml"), roster).unwrap();
}

#[test]
fn four_shards_merged_equal_the_single_run_byte_for_byte() {
    let tmp = temp_dir();
    let root = tmp.path();
    class(root);
    let base = ["--base-url", "https://course.example/cohort/"];
    let single = clinic(
        &[&["cohort", "roster.yaml", "--out", "single"][..], &base].concat(),
        root,
    );
    assert_eq!(
        single.status.code(),
        Some(1),
        "the roster has an entry error"
    );
    for k in 1..=4 {
        let shard = format!("{k}/4");
        let out = format!("part-{k}");
        let part = clinic(
            &[
                &["cohort", "roster.yaml", "--shard", &shard, "--out", &out][..],
                &base,
            ]
            .concat(),
            root,
        );
        assert!(part.status.code().is_some_and(|c| c <= 1));
        assert!(root.join(&out).join("shard.json").is_file());
        assert!(
            !root.join(&out).join("index.html").exists(),
            "a part has no dashboard"
        );
    }
    // Students are dealt round-robin: part 1 holds students 1, 5 and 9 of the roster.
    let mut held: Vec<String> = std::fs::read_dir(root.join("part-1/students"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    held.sort();
    assert_eq!(held, vec!["ada", "student-3"]);

    let merged = clinic(
        &[
            "cohort", "merge", "part-3", "part-1", "part-4", "part-2", "--out", "merged",
        ],
        root,
    );
    assert_eq!(
        merged.status.code(),
        Some(1),
        "the same exit code as the single run"
    );
    assert_eq!(
        String::from_utf8_lossy(&merged.stderr)
            .lines()
            .filter(|l| l.starts_with("warning"))
            .count(),
        String::from_utf8_lossy(&single.stderr)
            .lines()
            .filter(|l| l.starts_with("warning"))
            .count(),
        "the same warnings"
    );
    let (a, b) = (
        snapshot(&root.join("single")),
        snapshot(&root.join("merged")),
    );
    assert_eq!(
        a.iter().map(|(p, _)| p).collect::<Vec<_>>(),
        b.iter().map(|(p, _)| p).collect::<Vec<_>>()
    );
    for ((path, x), (_, y)) in a.iter().zip(&b) {
        assert!(x == y, "{path} differs");
    }
    let dashboard = std::fs::read_to_string(root.join("merged/cohort.json")).unwrap();
    assert!(dashboard.contains("\"Grace\""));
    // Both say when the dashboard was generated: at the clock of the run that wrote it.
    let json: serde_json::Value = serde_json::from_str(&dashboard).unwrap();
    assert_eq!(
        json["generated_at"], 1_793_610_000_i64,
        "{}",
        json["generated_at"]
    );
    assert_eq!(json["generated_at_utc"], "2026-11-02 09:00 +00:00");
    let index = std::fs::read_to_string(root.join("merged/index.html")).unwrap();
    assert!(
        index.contains(
            "Generated <time datetime=\"2026-11-02T09:00:00Z\">2026-11-02 09:00 UTC</time>."
        ),
        "{}",
        common::between(&index, "<article class=\"cohort\">", "<section")
    );

    // A merge generates the dashboard: run later, it shows its own time (the parts hold none),
    // and nothing else changes.
    let later = clinic_at(
        &[
            "cohort", "merge", "part-1", "part-2", "part-3", "part-4", "--out", "later",
        ],
        root,
        "1793617200",
    );
    assert_eq!(later.status.code(), Some(1));
    let index_later = std::fs::read_to_string(root.join("later/index.html")).unwrap();
    assert!(
        index_later.contains("2026-11-02 11:00 UTC"),
        "the merge's own clock"
    );
    assert_eq!(
        index_later
            .replace("2026-11-02T11:00:00Z", "2026-11-02T09:00:00Z")
            .replace("2026-11-02 11:00 UTC", "2026-11-02 09:00 UTC"),
        index,
        "only the time differs"
    );
    assert!(root
        .join("merged/students/grace/portfolio/index.html")
        .is_file());
}

#[test]
fn parts_that_do_not_make_one_roster_are_refused() {
    let tmp = temp_dir();
    let root = tmp.path();
    class(root);
    for k in 1..=3 {
        let (shard, out) = (format!("{k}/3"), format!("part-{k}"));
        let _ = clinic(
            &["cohort", "roster.yaml", "--shard", &shard, "--out", &out],
            root,
        );
    }
    let refused = |args: &[&str], needle: &str| {
        let output = clinic(args, root);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert!(!root.join("merged").exists(), "nothing written");
    };
    fn merge<'a>(parts: &[&'a str]) -> Vec<&'a str> {
        [&["cohort", "merge"][..], parts, &["--out", "merged"]].concat()
    }
    refused(&merge(&["part-1", "part-3"]), "shard 2/3 missing");
    refused(
        &merge(&["part-1", "part-2", "part-2", "part-3"]),
        "shard 2/3 is given twice",
    );
    refused(
        &merge(&["part-1", "part-2", "nowhere"]),
        "nowhere/shard.json",
    );

    // A part built from an edited roster does not belong with the others.
    let roster = std::fs::read_to_string(root.join("roster.yaml")).unwrap();
    std::fs::write(
        root.join("roster.yaml"),
        roster.replace("Sharded", "Edited"),
    )
    .unwrap();
    let _ = clinic(
        &[
            "cohort",
            "roster.yaml",
            "--shard",
            "2/3",
            "--out",
            "edited-2",
        ],
        root,
    );
    refused(&merge(&["part-1", "edited-2", "part-3"]), "another roster");

    // A hand-edited part is not trusted.
    let shard = root.join("part-2/shard.json");
    let text = std::fs::read_to_string(&shard).unwrap();
    std::fs::write(
        &shard,
        text.replace("\"source_kind\":\"repo\"", "\"source_kind\":\"x\""),
    )
    .unwrap();
    refused(
        &merge(&["part-1", "part-2", "part-3"]),
        "a row clinic did not write",
    );

    // A part that renames a student, or claims shard 0, or links outside itself.
    std::fs::write(root.join("roster.yaml"), &roster).unwrap();
    let _ = clinic(
        &["cohort", "roster.yaml", "--shard", "2/3", "--out", "part-2"],
        root,
    );
    let good = std::fs::read_to_string(&shard).unwrap();
    std::fs::write(
        &shard,
        good.replace("\"name\":\"Student 0\"", "\"name\":\"Mallory\""),
    )
    .unwrap();
    refused(
        &merge(&["part-1", "part-2", "part-3"]),
        "a row clinic did not write",
    );
    std::fs::write(&shard, good.replace("\"shard\":2,", "\"shard\":0,")).unwrap();
    refused(
        &merge(&["part-1", "part-2", "part-3"]),
        "which clinic never writes",
    );
    std::fs::write(&shard, &good).unwrap();
    #[cfg(unix)]
    {
        let secret = root.join("secret");
        std::fs::create_dir_all(&secret).unwrap();
        std::fs::write(secret.join("index.html"), "secret").unwrap();
        let held = root.join("part-1/students/ada");
        std::fs::remove_dir_all(&held).unwrap();
        std::os::unix::fs::symlink(&secret, &held).unwrap();
        refused(&merge(&["part-1", "part-2", "part-3"]), "symbolic link");
    }

    for bad in ["0/3", "4/3", "3"] {
        let output = clinic(&["cohort", "roster.yaml", "--shard", bad], root);
        assert_eq!(output.status.code(), Some(2), "--shard {bad}");
    }
}
