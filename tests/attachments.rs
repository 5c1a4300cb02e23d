//! Attachments and links in a record's write-up, over a real repository (the demo with one
//! record edited and committed): an image beside the record is published and shown, a link to
//! another record becomes its page, and every target that cannot be published (no such record,
//! no such file, out of the repository, a symbolic link that leads out, an SVG) is reported at the
//! record's file and line, as an error with `--strict`, and is never copied.

mod common;

use std::path::Path;

use common::git::RepoBuilder;
use common::{build_into, read_output};

const RECORD: &str = "library/raw/smoke-drills/001.md";
/// A PNG signature and a few bytes: what a screenshot's copy must equal.
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n-clinic-test-screenshot-";

const ADDED: &str = "\n![blocked run](ci-blocked.png)\n\n\
See [the migration](../migrations/display-name.md#why) and [another](../migrations/nope.md).\n\n\
![gone](missing.png) [escape](../../../../etc/passwd) [drawing](evil.svg) ![outside](outside.png)\n";

/// The demo with the smoke drill's write-up extended by [`ADDED`], committed, plus the files.
fn repo(tmp: &Path) -> RepoBuilder {
    let repo = RepoBuilder::demo(&tmp.join("demo"));
    let text = repo.read(RECORD);
    repo.write(RECORD, &format!("{text}{ADDED}"));
    std::fs::write(
        repo.root().join("library/raw/smoke-drills/ci-blocked.png"),
        PNG,
    )
    .unwrap();
    repo.write(
        "library/raw/smoke-drills/evil.svg",
        "<svg><script>alert(1)</script></svg>",
    );
    let secret = tmp.join("secret.png");
    std::fs::write(&secret, b"not the student's").unwrap();
    std::os::unix::fs::symlink(
        &secret,
        repo.root().join("library/raw/smoke-drills/outside.png"),
    )
    .unwrap();
    repo.commit(
        "2026-11-01 10:00",
        "Smoke drill: the blocked run's screenshot",
    );
    repo
}

/// The 1-based line of `RECORD` that contains `needle`.
fn line_of(repo: &RepoBuilder, needle: &str) -> usize {
    repo.read(RECORD)
        .lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle} is not in {RECORD}"))
        + 1
}

#[test]
fn an_image_beside_a_record_is_published_and_links_between_records_become_pages() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = repo(tmp.path());
    let out = tmp.path().join("out");
    let run = build_into(
        repo.root(),
        &out,
        &["--base-url", "https://ada.github.io/orders-api/"],
    );
    run.expect_code(0);

    let copied = out.join("portfolio/files/library/raw/smoke-drills/ci-blocked.png");
    assert_eq!(
        std::fs::read(&copied).unwrap(),
        PNG,
        "the screenshot is copied as it is"
    );
    let page = read_output(&out, "portfolio/smoke-drills/001/index.html");
    assert!(
        page.contains("<img src=\"/orders-api/portfolio/files/library/raw/smoke-drills/ci-blocked.png\" alt=\"blocked run\""),
        "{}",
        common::between(&page, "<section class=\"writeup\"", "</section>")
    );
    assert!(page.contains("href=\"/orders-api/portfolio/migrations/display-name/#why\""));
    // Nothing else was published: not the SVG, not what the symbolic link points at.
    let files = common::list_files(&out.join("portfolio/files"));
    assert_eq!(files, ["library/raw/smoke-drills/ci-blocked.png"]);
    // Each refused target is a warning at the record's line.
    let nope = line_of(&repo, "nope.md");
    let gone = line_of(&repo, "missing.png");
    run.expect_stderr(&format!("{RECORD}:{nope}"))
        .expect_stderr("there is no record at library/raw/migrations/nope.md")
        .expect_stderr(&format!("{RECORD}:{gone}"))
        .expect_stderr("leads out of the repository")
        .expect_stderr("evil.svg is not published: only images, PDFs and text files")
        .expect_stderr(&format!("warning: {RECORD}:{gone}: the write-up links library/raw/smoke-drills/missing.png, which is not published: there is no such file"))
        .expect_stderr(&format!("warning: {RECORD}:{gone}: the write-up links library/raw/smoke-drills/outside.png, which is not published: it is a link that leads out of the repository"));
}

#[test]
fn a_linked_file_missing_on_disk_is_reported_at_the_record_line_and_is_an_error_with_strict() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = RepoBuilder::demo(&tmp.path().join("demo"));
    let text = repo.read(RECORD);
    repo.write(
        RECORD,
        &format!("{text}\nThe run, before the fix:\n\n![the failed run](screenshots/run-42.png)\n"),
    );
    repo.commit("2026-11-01 10:00", "Smoke drill: link the run's screenshot");
    let line = line_of(&repo, "run-42.png");
    let expected = format!("{RECORD}:{line}: the write-up links library/raw/smoke-drills/screenshots/run-42.png, which is not published: there is no such file");

    let out = tmp.path().join("out");
    let run = build_into(repo.root(), &out, &["--json"]);
    run.expect_code(0);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let found: Vec<&serde_json::Value> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| {
            d["message"]
                .as_str()
                .is_some_and(|m| m.contains("run-42.png"))
        })
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one diagnostic for the missing file: {report:#}"
    );
    assert_eq!(found[0]["file"], RECORD);
    assert_eq!(
        found[0]["line"], line,
        "the line of the image in the record"
    );
    assert_eq!(found[0]["severity"], "warning");
    assert!(
        !out.join("portfolio/files").exists(),
        "nothing was published"
    );

    build_into(repo.root(), &tmp.path().join("strict"), &["--strict"])
        .expect_code(1)
        .expect_stderr(&format!("error: {expected}"));
}

#[test]
fn broken_links_in_a_write_up_are_errors_with_strict() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = repo(tmp.path());
    let out = tmp.path().join("out");
    build_into(repo.root(), &out, &["--strict"])
        .expect_code(1)
        .expect_stderr(&format!("error: {RECORD}:{}", line_of(&repo, "nope.md")));
}
