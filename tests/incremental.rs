//! Incremental builds: a `clinic build` into an output that the previous build wrote renders and
//! writes only what changed, and its output is the same, byte for byte, as a clean build's.
//! Each test edits a real repository (a page, a template, an artifact, a commit, the output
//! itself), rebuilds in place, and compares with a clean build into a new folder.

mod common;

use std::path::{Path, PathBuf};

use common::git::RepoBuilder;
use common::{build_into, snapshot, Run};

/// The demo repository with two handbook pages of its own, one with a broken link.
fn site() -> (tempfile::TempDir, RepoBuilder) {
    let (tmp, repo) = common::badges::demo();
    repo.write(
        "content/notes/_index.md",
        "---\ntitle: Notes\n---\nMy notes.\n",
    )
    .write(
        "content/notes/deploys.md",
        "---\ntitle: Deploys\nweight: 1\n---\nHow we deploy.\n\n```bash\n./deploy.sh v1.2.0\n```\n",
    )
    .write(
        "content/notes/links.md",
        "---\ntitle: Links\nweight: 2\n---\nSee [nothing](nowhere.md).\n",
    );
    (tmp, repo)
}

struct Outputs {
    public: PathBuf,
    clean: PathBuf,
}

impl Outputs {
    fn new(tmp: &Path) -> Outputs {
        Outputs {
            public: tmp.join("public"),
            clean: tmp.join("clean"),
        }
    }

    /// Rebuilds `public` in place, builds `clean` from scratch, and checks that both hold the
    /// same files with the same bytes. Returns the in-place build's run.
    #[track_caller]
    fn rebuild_and_compare(&self, root: &Path, what: &str) -> Run {
        let run = build_into(root, &self.public, &[]);
        run.expect_code(0);
        if self.clean.exists() {
            std::fs::remove_dir_all(&self.clean).unwrap();
        }
        build_into(root, &self.clean, &["--clean"]).expect_code(0);
        let (ours, clean) = (snapshot(&self.public), snapshot(&self.clean));
        let names = |s: &[(String, Vec<u8>)]| s.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
        assert_eq!(
            names(&ours),
            names(&clean),
            "after {what}: the files differ from a clean build's"
        );
        for ((name, a), (_, b)) in ours.iter().zip(&clean) {
            assert!(
                a == b,
                "after {what}: {name} differs from a clean build's\n--- in place\n{}\n--- clean\n{}",
                String::from_utf8_lossy(a),
                String::from_utf8_lossy(b)
            );
        }
        run
    }
}

/// `(written, unchanged, removed)` from the build's summary line, or `None` for a whole build.
fn update_counts(run: &Run) -> Option<(usize, usize, usize)> {
    let line = run
        .stderr
        .lines()
        .find(|l| l.contains("updated in place"))?;
    let numbers: Vec<usize> = line
        .split("updated in place: ")
        .nth(1)?
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();
    Some((numbers[0], numbers[1], numbers[2]))
}

#[test]
fn every_kind_of_edit_rebuilds_in_place_to_what_a_clean_build_makes() {
    let (tmp, repo) = site();
    let root = repo.root();
    let out = Outputs::new(tmp.path());

    let first = out.rebuild_and_compare(root, "the first build");
    assert_eq!(
        update_counts(&first),
        None,
        "the first build is a whole one"
    );

    let same = out.rebuild_and_compare(root, "a build with nothing changed");
    let (written, unchanged, removed) =
        update_counts(&same).expect("the second build updates in place");
    assert_eq!((written, removed), (0, 0), "{}", same.stderr);
    assert!(unchanged > 40, "{}", same.stderr);
    same.expect_stderr("content/notes/links.md")
        .expect_stderr("nowhere.md");

    // A page's body: that page and the search index, nothing else.
    repo.replace(
        "content/notes/deploys.md",
        "How we deploy.",
        "How we deploy, and roll back.",
    );
    let body = out.rebuild_and_compare(root, "a page's body edited");
    assert_eq!(
        update_counts(&body),
        Some((2, unchanged - 2, 0)),
        "{}",
        body.stderr
    );
    let page = common::read_output(&out.public, "notes/deploys/index.html");
    assert!(page.contains("and roll back"), "{page}");

    // A page's title shows on every page (the navigation).
    repo.replace(
        "content/notes/deploys.md",
        "title: Deploys",
        "title: Deploying",
    );
    let title = out.rebuild_and_compare(root, "a page's title edited");
    let (written, ..) = update_counts(&title).unwrap();
    assert!(written > 20, "every page shows the title: {}", title.stderr);

    // A template of the theme, overridden by the repository.
    repo.write(
        "theme/templates/partials/footer.html",
        "<footer class=\"site-footer\"><p>{{ site.title }} · my footer</p></footer>\n",
    );
    out.rebuild_and_compare(root, "a template overridden");
    assert!(common::read_output(&out.public, "notes/index.html").contains("my footer"));

    // An artifact edited in the work tree, then committed.
    repo.replace(
        "library/raw/rollback-rehearsals/001.md",
        "Next time the dashboard alert",
        "Next time, the dashboard alert",
    );
    out.rebuild_and_compare(root, "an artifact edited");
    repo.commit("2026-10-20 10:00", "Rehearsal write-up: a comma");
    out.rebuild_and_compare(root, "a commit");

    // A page removed, an asset added.
    repo.remove("content/notes/links.md");
    std::fs::write(root.join("content/notes/diagram.txt"), "a -> b\n").unwrap();
    let removed = out.rebuild_and_compare(root, "a page removed and an asset added");
    let (_, _, gone) = update_counts(&removed).unwrap();
    assert_eq!(gone, 1, "{}", removed.stderr);
    assert!(!out.public.join("notes/links").exists());
    assert!(out.public.join("notes/diagram.txt").is_file());
}

#[test]
fn a_file_changed_in_the_output_is_written_again() {
    let (tmp, repo) = site();
    let out = Outputs::new(tmp.path());
    out.rebuild_and_compare(repo.root(), "the first build");

    // Same size, and the old modification time put back: the change time still moved.
    let page = out.public.join("notes/deploys/index.html");
    let original = std::fs::read(&page).unwrap();
    let modified = page.metadata().unwrap().modified().unwrap();
    let mut doctored = original.clone();
    let at = doctored.len() / 2;
    doctored[at] = if doctored[at] == b'x' { b'y' } else { b'x' };
    std::fs::write(&page, &doctored).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&page)
        .unwrap()
        .set_modified(modified)
        .unwrap();
    std::fs::remove_file(out.public.join("static/style.css")).unwrap();

    let run = out.rebuild_and_compare(repo.root(), "two files of the output changed");
    assert_eq!(update_counts(&run).map(|c| c.0), Some(2), "{}", run.stderr);
    assert_eq!(std::fs::read(&page).unwrap(), original);
}

#[test]
fn a_file_nobody_built_in_the_output_makes_the_build_a_whole_one() {
    let (tmp, repo) = site();
    let out = Outputs::new(tmp.path());
    out.rebuild_and_compare(repo.root(), "the first build");
    std::fs::write(out.public.join("notes/mine.txt"), "mine").unwrap();
    std::fs::create_dir(out.public.join(".git")).unwrap();
    std::fs::write(out.public.join("CNAME"), "example.org\n").unwrap();

    let run = build_into(repo.root(), &out.public, &[]);
    run.expect_code(0);
    assert_eq!(update_counts(&run), None, "{}", run.stderr);
    assert!(!out.public.join("notes/mine.txt").exists());
    assert!(out.public.join(".git").is_dir(), ".git survives as before");

    // .git and CNAME are not unknown files: the next build updates in place, keeping them.
    let next = build_into(repo.root(), &out.public, &[]);
    assert_eq!(
        update_counts(&next).map(|c| c.0),
        Some(0),
        "{}",
        next.stderr
    );
    assert!(out.public.join("CNAME").is_file());
}

#[test]
fn clean_and_a_damaged_cache_build_the_whole_output() {
    let (tmp, repo) = site();
    let out = Outputs::new(tmp.path());
    out.rebuild_and_compare(repo.root(), "the first build");

    let clean = build_into(repo.root(), &out.public, &["--clean"]);
    clean.expect_code(0);
    assert_eq!(update_counts(&clean), None, "{}", clean.stderr);

    let caches: Vec<PathBuf> = std::fs::read_dir(repo.root().join(".git/clinic/build"))
        .expect("the build cache lives in the git directory")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "bin"))
        .collect();
    assert!(!caches.is_empty());
    for cache in &caches {
        std::fs::write(cache, b"not a cache").unwrap();
    }
    let damaged = build_into(repo.root(), &out.public, &[]);
    damaged.expect_code(0);
    assert_eq!(update_counts(&damaged), None, "{}", damaged.stderr);
    let again = out.rebuild_and_compare(repo.root(), "a build after a damaged cache");
    assert_eq!(update_counts(&again).map(|c| c.0), Some(0));
}

#[test]
fn two_builds_into_one_output_at_once_both_finish_with_a_whole_site() {
    let (tmp, repo) = site();
    let out = Outputs::new(tmp.path());
    out.rebuild_and_compare(repo.root(), "the first build");
    repo.replace("content/notes/deploys.md", "How we deploy.", "How we ship.");
    let spawn = || {
        let mut command = common::clinic_command();
        command
            .args(["build", "--quiet", "--root"])
            .arg(repo.root())
            .arg("--out")
            .arg(&out.public);
        command.spawn().unwrap()
    };
    let (mut a, mut b) = (spawn(), spawn());
    assert!(a.wait().unwrap().success());
    assert!(b.wait().unwrap().success());
    let run = out.rebuild_and_compare(repo.root(), "two builds at once");
    assert_eq!(update_counts(&run).map(|c| c.0), Some(0), "{}", run.stderr);
}

#[test]
fn a_new_build_time_rewrites_the_portfolio_pages_and_nothing_else() {
    let (tmp, repo) = site();
    let out = Outputs::new(tmp.path());
    out.rebuild_and_compare(repo.root(), "the first build");
    let later = |args: &[&str]| {
        let mut command = common::clinic_command();
        command.env("SOURCE_DATE_EPOCH", "1793700000").args(args);
        common::run(command)
    };
    let (root, public, clean) = (
        repo.root().to_str().unwrap(),
        out.public.to_str().unwrap(),
        out.clean.to_str().unwrap(),
    );
    let run = later(&["build", "--root", root, "--out", public]);
    run.expect_code(0);
    std::fs::remove_dir_all(&out.clean).unwrap();
    later(&["build", "--root", root, "--out", clean]).expect_code(0);
    assert_eq!(snapshot(&out.public), snapshot(&out.clean));
    let portfolio_pages = common::list_files(&out.public)
        .iter()
        .filter(|f| f.starts_with("portfolio/") && f.ends_with("index.html"))
        .filter(|f| common::read_output(&out.public, f).contains("class=\"stamp\""))
        .count();
    assert!(portfolio_pages >= 6, "{portfolio_pages}");
    assert_eq!(
        update_counts(&run).map(|c| c.0),
        Some(portfolio_pages),
        "only the pages with the stamp change: {}",
        run.stderr
    );
}

#[test]
fn the_search_index_is_whole_even_when_the_stored_documents_are_lost() {
    let (tmp, repo) = site();
    let out = Outputs::new(tmp.path());
    out.rebuild_and_compare(repo.root(), "the first build");
    let stores: Vec<PathBuf> = std::fs::read_dir(repo.root().join(".git/clinic/build"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".search.bin"))
        .collect();
    assert!(
        !stores.is_empty(),
        "the documents are stored beside the cache"
    );
    for store in &stores {
        std::fs::write(store, b"lost").unwrap();
    }
    repo.replace("content/notes/deploys.md", "How we deploy.", "How we ship.");
    let run = out.rebuild_and_compare(repo.root(), "a body edit without stored documents");
    assert_eq!(update_counts(&run).map(|c| c.0), Some(2), "{}", run.stderr);
    let index = common::read_output(&out.public, "search-index.json");
    assert!(
        index.contains("Expand-contract") || index.contains("expand"),
        "the handbook's pages stay in the index"
    );
}

/// A site with no repository: the content folder alone.
fn plain_site() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("site");
    std::fs::create_dir_all(root.join("content")).unwrap();
    std::fs::write(root.join("clinic.yaml"), "title: T\n").unwrap();
    std::fs::write(
        root.join("content/_index.md"),
        "---\ntitle: Home\n---\nhi\n",
    )
    .unwrap();
    (tmp, root)
}

#[test]
fn a_content_file_at_a_path_clinic_writes_holds_the_same_bytes_on_every_build() {
    let (tmp, root) = plain_site();
    let out = Outputs::new(tmp.path());
    out.rebuild_and_compare(&root, "the first build");
    std::fs::write(root.join("content/robots.txt"), "MY ROBOTS\n").unwrap();
    for round in ["once", "twice", "three times"] {
        let run = out.rebuild_and_compare(&root, &format!("robots.txt in content/, {round}"));
        assert_eq!(
            common::read_output(&out.public, "robots.txt"),
            "MY ROBOTS\n",
            "{round}: the content file is written last, as in a whole build"
        );
        let (written, unchanged, _) = update_counts(&run).unwrap();
        assert!(unchanged > 20 && written <= 2, "{}", run.stderr);
    }
}

#[test]
fn a_path_that_turns_from_a_file_into_a_folder_and_back_is_rebuilt_in_place() {
    let (tmp, root) = plain_site();
    let out = Outputs::new(tmp.path());
    std::fs::write(root.join("content/notes"), "plain\n").unwrap();
    out.rebuild_and_compare(&root, "an asset named notes");
    std::fs::remove_file(root.join("content/notes")).unwrap();
    std::fs::write(root.join("content/notes.md"), "---\ntitle: Notes\n---\nn\n").unwrap();
    let run = out.rebuild_and_compare(&root, "a page at notes/ where the asset was");
    assert!(update_counts(&run).is_some(), "{}", run.stderr);
    std::fs::remove_file(root.join("content/notes.md")).unwrap();
    std::fs::write(root.join("content/notes"), "plain again\n").unwrap();
    out.rebuild_and_compare(&root, "the asset back where the page's folder was");
}

#[test]
fn empty_folders_and_a_changed_marker_in_the_output_do_not_survive() {
    let (tmp, root) = plain_site();
    let out = Outputs::new(tmp.path());
    out.rebuild_and_compare(&root, "the first build");
    std::fs::create_dir_all(out.public.join("junk/deeper")).unwrap();
    let run = out.rebuild_and_compare(&root, "an empty folder added to the output");
    assert_eq!(update_counts(&run), None, "a whole build: {}", run.stderr);
    let marker = out.public.join(".clinic-build");
    let mut text = std::fs::read_to_string(&marker).unwrap();
    text.push_str("extra\n");
    std::fs::write(&marker, text).unwrap();
    out.rebuild_and_compare(&root, "the marker edited");
}

#[cfg(unix)]
#[test]
fn folders_made_in_place_are_world_readable_whatever_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let (tmp, root) = plain_site();
    let out = Outputs::new(tmp.path());
    out.rebuild_and_compare(&root, "the first build");
    std::fs::create_dir_all(root.join("content/section")).unwrap();
    std::fs::write(
        root.join("content/section/page.md"),
        "---\ntitle: P\n---\np\n",
    )
    .unwrap();
    std::fs::set_permissions(
        out.public.join("static"),
        std::fs::Permissions::from_mode(0o700),
    )
    .unwrap();
    // The umask of the build, not of this test: run it through a shell.
    let mut command = std::process::Command::new("sh");
    command
        .arg("-c")
        .arg("umask 077 && exec \"$0\" build --root \"$1\" --out \"$2\"")
        .arg(env!("CARGO_BIN_EXE_clinic"))
        .arg(&root)
        .arg(&out.public)
        .env("SOURCE_DATE_EPOCH", common::SOURCE_DATE_EPOCH);
    let run = command.output().unwrap();
    assert!(run.status.success());
    // In place: a whole build would make every folder anew, with any umask.
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("updated in place"), "{stderr}");
    for dir in ["section", "section/page", "static"] {
        let mode = out
            .public
            .join(dir)
            .metadata()
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o755, "{dir}");
    }
}
