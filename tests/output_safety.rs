//! The output directories `clinic build` must refuse before touching anything, each shown by a
//! snapshot taken before and compared after; and what a rebuild keeps and removes.

mod common;

use std::path::Path;

use common::{build_into, copy_fixture, snapshot, Run, Site};

/// The file that marks a directory as an earlier build's output.
const MARKER: &str = ".clinic-build";

#[track_caller]
fn expect_refused(run: &Run, why: &str) {
    run.expect_code(2)
        .expect_stderr("refusing to build into")
        .expect_stderr(why);
}

/// Everything in the temporary directory, which holds the site and the refused output.
fn snapshot_all(site: &Site) -> Vec<(String, Vec<u8>)> {
    snapshot(site.tmp.path())
}

#[test]
fn refuses_the_site_root_itself() {
    let site = copy_fixture("good");
    let before = snapshot_all(&site);
    let run = build_into(&site.root, &site.root, &[]);
    expect_refused(&run, "it is the site root");
    assert_eq!(snapshot_all(&site), before, "something changed");

    // The same directory spelled differently.
    let spelled = site.root.join("content").join("..");
    let run = build_into(&site.root, &spelled, &[]);
    expect_refused(&run, "it is the site root");
    assert_eq!(snapshot_all(&site), before, "something changed");
}

#[cfg(unix)]
#[test]
fn refuses_the_root_named_through_a_symlink() {
    let site = copy_fixture("good");
    // A root that holds a marker (an old output was once built into it, say) is still refused.
    std::fs::write(site.root.join(MARKER), "").unwrap();
    let alias = site.tmp.path().join("alias");
    std::os::unix::fs::symlink(&site.root, &alias).unwrap();
    let before = snapshot_all(&site);
    expect_refused(&build_into(&alias, &site.root, &[]), "it is the site root");
    assert_eq!(snapshot_all(&site), before, "something changed");
    // `alias/content/..` is the root too, reached through the link.
    let through = alias.join("content").join("..");
    let run = build_into(&site.root, &through, &[]);
    run.expect_code(2);
    assert_eq!(snapshot_all(&site), before, "something changed");
}

#[cfg(unix)]
#[test]
fn refuses_the_home_directory_named_through_a_symlink() {
    let site = copy_fixture("good");
    let home = site.tmp.path().join("home");
    std::fs::create_dir(&home).unwrap();
    std::fs::write(home.join(MARKER), "").unwrap();
    std::fs::write(home.join("notes.txt"), "my notes").unwrap();
    // HOME=/home/me where /home -> /data/home is common; --out names the real folder.
    let link = site.tmp.path().join("home-link");
    std::os::unix::fs::symlink(&home, &link).unwrap();
    let before = snapshot_all(&site);
    let mut command = common::clinic_command();
    command
        .env("HOME", &link)
        .arg("build")
        .arg("--root")
        .arg(&site.root)
        .arg("--out")
        .arg(&home);
    expect_refused(&common::run(command), "it is your home directory");
    assert_eq!(snapshot_all(&site), before, "something changed");
}

#[test]
fn refuses_an_ancestor_of_the_root() {
    let site = copy_fixture("good");
    // <tmp> holds the site: building into it would replace the sources.
    std::fs::write(site.tmp.path().join(MARKER), "").unwrap();
    let before = snapshot_all(&site);
    let run = build_into(&site.root, site.tmp.path(), &[]);
    expect_refused(&run, "it contains the site root");
    assert_eq!(snapshot_all(&site), before, "something changed");

    // Relative paths, from inside the root: `--root . --out ..`.
    let mut command = common::clinic_command();
    command
        .current_dir(&site.root)
        .args(["build", "--root", ".", "--out", ".."]);
    expect_refused(&common::run(command), "it contains the site root");
    assert_eq!(snapshot_all(&site), before, "something changed");
}

#[test]
fn refuses_the_file_system_root() {
    let site = copy_fixture("good");
    let run = build_into(&site.root, Path::new("/"), &[]);
    expect_refused(&run, "it is the file-system root");
}

#[test]
fn refuses_the_home_directory() {
    let site = copy_fixture("good");
    let home = site.tmp.path().join("home");
    std::fs::create_dir(&home).unwrap();
    std::fs::write(home.join("notes.txt"), "my notes").unwrap();
    // Even a home that an earlier build marked is refused.
    std::fs::write(home.join(MARKER), "").unwrap();
    let before = snapshot_all(&site);

    let mut command = common::clinic_command();
    command
        .env("HOME", &home)
        .arg("build")
        .arg("--root")
        .arg(&site.root)
        .arg("--out")
        .arg(&home);
    expect_refused(&common::run(command), "it is your home directory");
    assert_eq!(snapshot_all(&site), before, "something changed");
    assert_eq!(
        std::fs::read_to_string(home.join("notes.txt")).unwrap(),
        "my notes"
    );
}

#[test]
fn refuses_a_non_empty_directory_that_no_build_made() {
    let site = copy_fixture("good");
    let out = site.tmp.path().join("documents");
    std::fs::create_dir_all(out.join("nested")).unwrap();
    std::fs::write(out.join("thesis.tex"), "chapter one").unwrap();
    std::fs::write(out.join("nested/index.html"), "<p>mine</p>").unwrap();
    let before = snapshot_all(&site);
    let run = build_into(&site.root, &out, &[]);
    expect_refused(&run, "no earlier `clinic build` made it");
    assert_eq!(snapshot_all(&site), before, "something changed");

    // Even when all it holds is a hidden file.
    let hidden = site.tmp.path().join("hidden");
    std::fs::create_dir(&hidden).unwrap();
    std::fs::write(hidden.join(".env"), "SECRET=1").unwrap();
    let before = snapshot_all(&site);
    expect_refused(&build_into(&site.root, &hidden, &[]), "not empty");
    assert_eq!(snapshot_all(&site), before, "something changed");
}

#[test]
fn refuses_a_file() {
    let site = copy_fixture("good");
    let out = site.tmp.path().join("public.html");
    std::fs::write(&out, "<p>a file</p>").unwrap();
    let before = snapshot_all(&site);
    let run = build_into(&site.root, &out, &[]);
    expect_refused(&run, "it is a file, not a directory");
    assert_eq!(snapshot_all(&site), before, "something changed");
}

#[cfg(unix)]
#[test]
fn refuses_a_symlink() {
    let site = copy_fixture("good");
    // A link to a directory that an earlier build made: following it would replace the target.
    let target = site.tmp.path().join("real");
    std::fs::create_dir(&target).unwrap();
    std::fs::write(target.join(MARKER), "").unwrap();
    std::fs::write(target.join("keep.txt"), "keep me").unwrap();
    let link = site.tmp.path().join("public");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let before = snapshot_all(&site);
    let run = build_into(&site.root, &link, &[]);
    expect_refused(&run, "it is a symbolic link");
    assert_eq!(snapshot_all(&site), before, "something changed");
    assert!(link.symlink_metadata().unwrap().file_type().is_symlink());
}

#[test]
fn builds_into_a_new_or_empty_directory() {
    let site = copy_fixture("good");
    let empty = site.tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    build_into(&site.root, &empty, &[]).expect_code(0);
    assert!(empty.join("index.html").is_file());
    assert!(
        empty.join(MARKER).is_file(),
        "the output is marked as clinic's"
    );

    let nested = site.tmp.path().join("a/b/c");
    build_into(&site.root, &nested, &[]).expect_code(0);
    assert!(nested.join("index.html").is_file());
}

#[test]
fn a_rebuild_keeps_git_and_cname_removes_stale_files_and_leaves_no_temporaries() {
    let site = copy_fixture("good");
    let out = site.public();
    common::build(&site.root, &[]).expect_code(0);
    assert!(out.join(MARKER).is_file());

    // What a branch deploy keeps in the output, and what an old build left.
    std::fs::create_dir_all(out.join(".git/refs")).unwrap();
    std::fs::write(out.join(".git/HEAD"), "ref: refs/heads/gh-pages\n").unwrap();
    std::fs::write(out.join("CNAME"), "clinic.example.org\n").unwrap();
    std::fs::create_dir_all(out.join("old-section")).unwrap();
    std::fs::write(out.join("old-section/index.html"), "stale").unwrap();
    std::fs::write(out.join("stale.html"), "stale").unwrap();
    std::fs::write(out.join("index.html"), "overwritten by hand").unwrap();
    let git_before = snapshot(&out.join(".git"));

    common::build(&site.root, &[]).expect_code(0);
    assert_eq!(snapshot(&out.join(".git")), git_before, ".git changed");
    assert_eq!(
        std::fs::read_to_string(out.join("CNAME")).unwrap(),
        "clinic.example.org\n"
    );
    assert!(!out.join("stale.html").exists(), "a stale file survived");
    assert!(!out.join("old-section").exists(), "a stale folder survived");
    let index = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(index.contains("<h1>Fixture home</h1>"), "{index}");
    assert!(out.join(MARKER).is_file());

    let siblings = common::root_entries(&site.root);
    assert_eq!(
        siblings,
        ["clinic.yaml", "content", "public", "theme"],
        "temporaries left behind"
    );

    // A third build, after a failed one, still finds no leftovers.
    let broken = site.root.join("theme/templates/partials/footer.html");
    std::fs::write(&broken, "{{ oops ").unwrap();
    common::build(&site.root, &[]).expect_code(1);
    assert!(
        out.join("CNAME").is_file(),
        "a failed build touched the output"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("index.html")).unwrap(),
        index,
        "a failed build changed the published site"
    );
    assert_eq!(
        common::root_entries(&site.root),
        siblings,
        "temporaries left behind"
    );
}
