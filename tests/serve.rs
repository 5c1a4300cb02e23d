//! `clinic serve` over real HTTP: the binary is started on 127.0.0.1 with `--port 0`, the test
//! reads the URL it prints, and talks to it with raw `TcpStream`s (so that hostile request
//! lines reach the server exactly as written). Every wait polls with a generous deadline and
//! fails with what it was waiting for; nothing asserts on time.
//!
//! Each server is owned by a [`Serve`] guard that kills the process on drop, so a failing test
//! never leaves one running.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

mod common;

/// How long any single wait may take before the test fails (a debug build on a busy machine).
const DEADLINE: Duration = Duration::from_secs(90);

// ---------------------------------------------------------------------------------------------
// The server under test

/// A running `clinic serve`; killed on drop.
struct Serve {
    child: Child,
    /// `127.0.0.1:PORT`
    addr: String,
    /// `/` or `/portfolio/`
    base: String,
    root: PathBuf,
    stderr: PathBuf,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A temporary directory holding the site root `site/` and the server's log.
struct Site {
    tmp: tempfile::TempDir,
    root: PathBuf,
}

fn site(pages: &[(&str, &str)]) -> Site {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("site");
    for (rel, text) in pages {
        write(&root, rel, text);
    }
    std::fs::create_dir_all(&root).unwrap();
    Site { tmp, root }
}

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn md(title: &str, body: &str) -> String {
    format!("---\ntitle: {title}\n---\n{body}\n")
}

impl Site {
    fn serve(&self, extra: &[&str]) -> Serve {
        start(&self.root, &self.tmp.path().join("serve.log"), extra)
    }
}

fn start(root: &Path, log: &Path, extra: &[&str]) -> Serve {
    let mut command = common::clinic_command();
    command
        .args(["serve", "--port", "0", "--root"])
        .arg(root)
        .args(extra)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).unwrap());
    let mut child = command.spawn().expect("start clinic serve");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut serve = Serve {
        child,
        addr: String::new(),
        base: String::new(),
        root: root.to_path_buf(),
        stderr: log.to_path_buf(),
    };
    let line = rx
        .recv_timeout(DEADLINE)
        .unwrap_or_else(|_| panic!("no URL printed; stderr:\n{}", serve.log()));
    let url = line
        .strip_prefix("Serving http://")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    let (addr, base) = url.split_at(url.find('/').unwrap());
    assert!(
        addr.starts_with("127.0.0.1:"),
        "the default bind is 127.0.0.1: {line}"
    );
    serve.addr = addr.to_string();
    serve.base = base.to_string();
    serve
}

impl Serve {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    fn get(&self, path: &str) -> Response {
        self.raw(&format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.addr
        ))
    }

    /// Sends `request` exactly as written.
    fn raw(&self, request: &str) -> Response {
        send(&self.addr, request)
    }

    fn status(&self) -> Value {
        let response = self.get(&format!("{}__clinic/status", self.base));
        assert_eq!(response.status, 200, "{}", response.body);
        serde_json::from_str(&response.body).unwrap()
    }

    /// Full + partial + failed rebuild attempts so far (the first build counts as a full one).
    fn builds(&self) -> u64 {
        let s = self.status();
        ["full", "partial", "failed"]
            .iter()
            .map(|k| s[k].as_u64().unwrap())
            .sum()
    }

    fn generation(&self) -> u64 {
        self.status()["generation"].as_u64().unwrap()
    }

    /// Waits until the server has no events to handle and no build running.
    fn wait_idle(&self) {
        wait_for("the server to be idle", || {
            !self.status()["busy"].as_bool().unwrap()
        });
    }

    /// The build directory being served.
    fn served_dir(&self) -> PathBuf {
        let name = self.status()["site"]
            .as_str()
            .expect("a build is served")
            .to_string();
        self.root
            .join(".clinic/serve")
            .join(self.child.id().to_string())
            .join(name)
    }

    /// Opens the reload stream and reads its `hello`.
    fn events(&self) -> Events {
        let mut stream = TcpStream::connect(&self.addr).unwrap();
        stream.set_read_timeout(Some(DEADLINE)).unwrap();
        let request = format!(
            "GET {}__clinic/events HTTP/1.1\r\nHost: {}\r\nAccept: text/event-stream\r\n\r\n",
            self.base, self.addr
        );
        stream.write_all(request.as_bytes()).unwrap();
        let mut reader = BufReader::new(stream);
        let mut head = String::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line == "\r\n" || line.is_empty() {
                break;
            }
            head.push_str(&line);
        }
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert!(head.contains("text/event-stream"), "{head}");
        assert!(
            !head
                .to_ascii_lowercase()
                .contains("access-control-allow-origin"),
            "{head}"
        );
        let mut events = Events { reader, hello: 0 };
        events.hello = events.expect("hello").parse().unwrap();
        events
    }
}

/// An open event stream.
struct Events {
    reader: BufReader<TcpStream>,
    /// The generation the server was at when the stream opened.
    hello: u64,
}

impl Events {
    /// The next event's name and data (comments and the greeting are skipped).
    /// The server's keep-alive comments arrive more often than a read times out, so the
    /// deadline is for the whole wait, not for each read.
    fn next(&mut self) -> (String, String) {
        let (mut name, mut data) = (String::new(), Vec::new());
        let deadline = Instant::now() + DEADLINE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "no event before the deadline");
            self.reader.get_ref().set_read_timeout(Some(left)).unwrap();
            let mut line = String::new();
            let n = self
                .reader
                .read_line(&mut line)
                .expect("an event before the deadline");
            assert!(n > 0, "the event stream closed");
            let line = line.trim_end_matches(['\r', '\n']);
            if line.is_empty() {
                if !name.is_empty() {
                    return (name, data.join("\n"));
                }
                continue;
            }
            if let Some(value) = line.strip_prefix("event: ") {
                name = value.to_string();
            } else if let Some(value) = line.strip_prefix("data: ") {
                data.push(value.to_string());
            }
        }
    }

    #[track_caller]
    fn expect(&mut self, name: &str) -> String {
        let (got, data) = self.next();
        assert_eq!(got, name, "event data: {data}");
        data
    }
}

// ---------------------------------------------------------------------------------------------
// A minimal HTTP/1.1 client

#[derive(Debug)]
struct Response {
    status: u16,
    head: String,
    body: String,
}

impl Response {
    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|line| {
            let (k, v) = line.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    }
}

/// Sends `request` exactly as written to `addr` and reads the response.
fn send(addr: &str, request: &str) -> Response {
    let mut stream = TcpStream::connect(addr).expect("connect to clinic serve");
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let head_only = request.starts_with("HEAD ");
    read_response(&mut BufReader::new(stream), head_only)
}

fn read_response(reader: &mut impl BufRead, head_only: bool) -> Response {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        head.push_str(&line);
    }
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {head:?}"));
    let mut response = Response {
        status,
        head,
        body: String::new(),
    };
    if head_only {
        return response;
    }
    let mut body = Vec::new();
    if let Some(length) = response.header("Content-Length") {
        body.resize(length.parse().unwrap(), 0);
        reader.read_exact(&mut body).unwrap();
    } else if response
        .header("Transfer-Encoding")
        .is_some_and(|t| t.contains("chunked"))
    {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).unwrap();
            let size = usize::from_str_radix(size.trim(), 16).unwrap();
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).unwrap();
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else {
        let _ = reader.read_to_end(&mut body);
    }
    response.body = String::from_utf8_lossy(&body).into_owned();
    response
}

// ---------------------------------------------------------------------------------------------
// Helpers

#[track_caller]
fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < DEADLINE, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Every file under `dir`, relative, with its bytes.
fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = walkdir::WalkDir::new(dir)
        .min_depth(1)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| !e.file_type().is_dir())
        .map(|e| {
            (
                e.path()
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

fn clean_build(root: &Path, out: &Path) {
    let output = common::clinic_command()
        .args(["build", "--quiet", "--root"])
        .arg(root)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Replaces `rel` the way editors that save safely do: write a temporary file, rename it over.
fn save_by_rename(root: &Path, rel: &str, temp_name: &str, text: &str) {
    let path = root.join(rel);
    let temp = path.with_file_name(temp_name);
    std::fs::write(&temp, text).unwrap();
    std::fs::rename(&temp, &path).unwrap();
}

// ---------------------------------------------------------------------------------------------
// Live reload

#[test]
fn a_page_edit_sends_reload_and_serves_the_new_content() {
    let site = site(&[("content/notes.md", &md("Notes", "First version."))]);
    let serve = site.serve(&[]);
    let first = serve.get("/notes/");
    assert_eq!(first.status, 200);
    assert!(first.body.contains("First version."));
    let served_at = format!("var mine = \"{}\"", serve.generation());
    assert!(
        first.body.contains(&served_at),
        "the reload script is injected"
    );
    assert!(first
        .body
        .contains("new SharedWorker(base + \"__clinic/reload-worker.js\""));
    assert!(
        first.body.find("<!-- clinic serve -->").unwrap() < first.body.rfind("</body>").unwrap()
    );

    let mut events = serve.events();
    write(
        &site.root,
        "content/notes.md",
        &md("Notes", "Second version."),
    );
    events.expect("reload");
    let second = serve.get("/notes/");
    assert!(second.body.contains("Second version."), "{}", second.body);
    assert!(!second.body.contains("First version."));
    assert_eq!(
        serve.status()["partial"],
        1,
        "a body edit re-renders only that page"
    );
    assert!(
        serve.log().contains("Re-rendered content/notes.md"),
        "{}",
        serve.log()
    );
}

#[test]
fn a_page_loaded_before_a_rebuild_learns_it_when_it_connects_after() {
    let site = site(&[("content/notes.md", &md("Notes", "One."))]);
    let serve = site.serve(&[]);
    let mut events = serve.events();
    let old = serve.get("/notes/");
    assert!(old
        .body
        .contains(&format!("var mine = \"{}\"", events.hello)));
    write(&site.root, "content/notes.md", &md("Notes", "Two."));
    let reload: u64 = events.expect("reload").parse().unwrap();
    assert!(reload > events.hello);
    // A tab that fetched the page before the rebuild and only now opens its stream is told
    // the new generation at once, and reloads because it differs from its own.
    let late = serve.events();
    assert_eq!(late.hello, reload);
    let worker = serve.get("/__clinic/reload-worker.js");
    assert_eq!(worker.status, 200);
    assert!(worker
        .header("Content-Type")
        .unwrap()
        .starts_with("text/javascript"));
    assert!(worker.body.contains("new EventSource(\"events\")"));
}

#[test]
fn a_broken_front_matter_shows_the_overlay_over_the_last_good_page_until_fixed() {
    let site = site(&[("content/notes.md", &md("Notes", "Good text."))]);
    let serve = site.serve(&[]);
    let mut events = serve.events();

    write(
        &site.root,
        "content/notes.md",
        "---\ntitle: [unclosed\n---\nBroken text.\n",
    );
    let data = events.expect("build-error");
    assert!(data.contains("content/notes.md:2"), "{data}");
    let page = serve.get("/notes/");
    assert_eq!(page.status, 200, "the last good page is still served");
    assert!(page.body.contains("Good text."));
    assert!(!page.body.contains("Broken text."));
    assert!(
        page.body.contains("id=\"clinic-serve-overlay\""),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("content/notes.md:2: front matter"),
        "file and line in the overlay"
    );
    let home = serve.get("/");
    assert!(
        home.body.contains("clinic-serve-overlay"),
        "the overlay is on every page"
    );
    assert!(
        serve.log().contains("error: content/notes.md:2"),
        "the terminal shows it too:\n{}",
        serve.log()
    );

    write(&site.root, "content/notes.md", &md("Notes", "Fixed text."));
    events.expect("reload");
    let fixed = serve.get("/notes/");
    assert!(fixed.body.contains("Fixed text."));
    assert!(!fixed.body.contains("clinic-serve-overlay"));
    assert_eq!(serve.status()["errors"], serde_json::json!([]));
}

#[test]
fn a_failed_full_build_keeps_the_last_good_site_and_escapes_the_error() {
    let site = site(&[("content/notes.md", &md("Notes", "Good text."))]);
    let serve = site.serve(&[]);
    let mut events = serve.events();
    // A new asset (so not a page-only change: a full build) and a new page whose name is HTML.
    write(&site.root, "content/notes.txt", "an asset");
    let hostile = "content/x<img src=x onerror=alert(1)>.md";
    write(
        &site.root,
        hostile,
        "---\ntitle: <script>alert(1)</script>\nweight: [1\n---\n",
    );
    events.expect("build-error");
    let page = serve.get("/notes/");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Good text."));
    let overlay = &page.body[page.body.find("clinic-serve-overlay").unwrap()..];
    assert!(
        overlay.contains("x&lt;img src=x onerror=alert(1)&gt;.md"),
        "{overlay}"
    );
    assert!(!overlay.contains("<img"), "{overlay}");
    assert!(
        !page.body.contains(&site.root.display().to_string()),
        "no absolute path in a page"
    );

    std::fs::remove_file(site.root.join(hostile)).unwrap();
    events.expect("reload");
    assert!(!serve.get("/notes/").body.contains("clinic-serve-overlay"));
}

#[test]
fn a_broken_template_is_an_overlay_and_a_first_failed_build_a_503_until_fixed() {
    let site = site(&[
        ("content/notes.md", &md("Notes", "Text.")),
        (
            "theme/templates/partials/footer.html",
            "<footer>{{ site.title </footer>",
        ),
    ]);
    let serve = site.serve(&[]);
    let page = serve.get("/notes/");
    assert_eq!(page.status, 503, "no build succeeded yet");
    assert!(
        page.body.contains("theme/templates/partials/footer.html"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("new SharedWorker("),
        "the error page reloads by itself"
    );

    let mut events = serve.events();
    write(
        &site.root,
        "theme/templates/partials/footer.html",
        "<footer>fixed footer</footer>",
    );
    events.expect("reload");
    let page = serve.get("/notes/");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("fixed footer"));
    assert!(!page.body.contains("clinic-serve-overlay"));
    // The log says that the whole site was rebuilt, and for which change.
    serve.wait_idle();
    let log = serve.log();
    assert!(
        log.lines()
            .any(|l| l.starts_with("Rebuilt the whole site (")
                && l.ends_with("after a change to theme/templates/partials/footer.html")),
        "{log}"
    );
}

#[test]
fn served_pages_show_the_committed_text_their_badges_judged() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("repo");
    clinic::commands::demo::write(&root).unwrap();
    for (rel, from, to) in common::WORKTREE_EDITS {
        let path = root.join(rel);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{rel}");
        std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    }
    let serve = start(&root, &tmp.path().join("serve.log"), &[]);
    for page in [
        "portfolio/smoke-drills/001/",
        "portfolio/migrations/display-name/",
    ] {
        let response = serve.get(&format!("{}{page}", serve.base));
        assert_eq!(response.status, 200, "{page}");
        for marker in [
            "WORKTREE_ONLY_SMOKE",
            "WORKTREE_ONLY_WORKFLOW",
            "WORKTREE_ONLY_SQL",
        ] {
            assert!(
                !response.body.contains(marker),
                "{page} shows uncommitted text ({marker})"
            );
        }
    }
}

#[test]
fn a_new_commit_or_tag_in_the_repository_updates_the_evidence() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("repo");
    clinic::commands::demo::write(&root).unwrap();
    let serve = start(&root, &tmp.path().join("serve.log"), &[]);
    let evidence = || serde_json::from_str::<Value>(&serve.get("/evidence.json").body).unwrap();
    assert_eq!(evidence()["badges"]["flag"]["state"], "verified");
    let releases = |e: &Value| e["repository"]["releases"].as_array().unwrap().len();
    let before = releases(&evidence());

    // Re-add the retired flag in a file nobody watches: only the commit (a ref change) can
    // tell the server.
    let repo = git2::Repository::open(&root).unwrap();
    let flags = root.join("config/flags.yaml");
    let mut text = std::fs::read_to_string(&flags).unwrap();
    text.push_str("new_checkout: true\n");
    std::fs::write(&flags, text).unwrap();
    let mut events = serve.events();
    let mut index = repo.index().unwrap();
    index.add_path(Path::new("config/flags.yaml")).unwrap();
    index.write().unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let parent = repo.head().unwrap().peel_to_commit().unwrap();
    let who = git2::Signature::now("Grace Hopper", "grace@example.org").unwrap();
    let commit = repo
        .commit(
            Some("HEAD"),
            &who,
            &who,
            "Bring new_checkout back",
            &tree,
            &[&parent],
        )
        .unwrap();
    events.expect("reload");
    wait_for("the flag badge to change", || {
        evidence()["badges"]["flag"]["state"] != "verified"
    });

    let mut events = serve.events();
    repo.tag_lightweight("v1.8.0", &repo.find_object(commit, None).unwrap(), false)
        .unwrap();
    events.expect("reload");
    wait_for("the new release", || releases(&evidence()) == before + 1);
}

#[test]
fn saves_by_rename_rebuild_every_time() {
    let site = site(&[("content/notes.md", &md("Notes", "Save 0."))]);
    // A vim-style save is three file operations: a longer debounce keeps them in one batch
    // even when the test thread is descheduled between them on a busy machine.
    let serve = site.serve(&["--debounce", "250"]);
    let builds = serve.builds();
    let mut events = serve.events();
    // JetBrains-style, vim-style (the original moved to a backup, a new file written), and
    // a plain temp-file rename: each replaces the file's inode.
    save_by_rename(
        &site.root,
        "content/notes.md",
        "notes.md___jb_tmp___",
        &md("Notes", "Save 1."),
    );
    events.expect("reload");
    assert!(serve.get("/notes/").body.contains("Save 1."));

    std::fs::rename(
        site.root.join("content/notes.md"),
        site.root.join("content/notes.md~"),
    )
    .unwrap();
    write(&site.root, "content/notes.md", &md("Notes", "Save 2."));
    std::fs::remove_file(site.root.join("content/notes.md~")).unwrap();
    events.expect("reload");
    wait_for("save 2", || serve.get("/notes/").body.contains("Save 2."));

    save_by_rename(
        &site.root,
        "content/notes.md",
        ".notes.md.swp",
        &md("Notes", "Save 3."),
    );
    events.expect("reload");
    wait_for("save 3", || serve.get("/notes/").body.contains("Save 3."));
    serve.wait_idle();
    assert_eq!(
        serve.builds() - builds,
        3,
        "one rebuild per save:\n{}",
        serve.log()
    );
}

#[test]
fn editor_temp_files_never_trigger_a_rebuild() {
    let site = site(&[("content/notes.md", &md("Notes", "Text."))]);
    let serve = site.serve(&[]);
    let builds = serve.builds();
    let mut events = serve.events();
    for name in [
        ".notes.md.swp",
        ".notes.md.swx",
        "notes.md~",
        "4913",
        "#notes.md#",
        "notes.md.tmp",
        "x.bck",
        "notes.md___jb_old___",
    ] {
        write(&site.root, &format!("content/{name}"), "junk");
        std::fs::remove_file(site.root.join("content").join(name)).unwrap();
    }
    write(&site.root, "README.md", "not a source");
    std::fs::create_dir_all(site.root.join("public")).unwrap();
    // Events arrive in order: once this edit is served, all the noise was seen and dropped.
    write(&site.root, "content/notes.md", &md("Notes", "Real edit."));
    events.expect("reload");
    serve.wait_idle();
    assert_eq!(serve.builds() - builds, 1, "{}", serve.log());
}

#[test]
fn a_burst_of_300_files_is_at_most_two_rebuilds_and_equals_a_clean_build() {
    let site = site(&[("content/posts/_index.md", &md("Posts", "All posts."))]);
    // The burst must coalesce however the machine schedules the writing thread: a pause
    // longer than the debounce would legitimately start another batch.
    let serve = site.serve(&["--debounce", "250"]);
    let builds = serve.builds();
    for i in 0..300 {
        write(
            &site.root,
            &format!("content/posts/p{i:03}.md"),
            &md(&format!("Post {i}"), &format!("Body {i}.")),
        );
    }
    wait_for("the last page", || serve.get("/posts/p299/").status == 200);
    serve.wait_idle();
    let rebuilds = serve.builds() - builds;
    assert!(
        (1..=2).contains(&rebuilds),
        "{rebuilds} rebuilds for one burst:\n{}",
        serve.log()
    );

    let clean = site.tmp.path().join("clean");
    clean_build(&site.root, &clean);
    let served = tree(&serve.served_dir());
    let expected = tree(&clean);
    let names = |t: &[(String, Vec<u8>)]| t.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(&served), names(&expected));
    for ((name, a), (_, b)) in served.iter().zip(&expected) {
        assert!(a == b, "{name} differs from a clean build");
    }
}

#[test]
fn partial_re_renders_equal_a_clean_build() {
    // `zeppelin` is a's only: once a's edit drops it, the search index (rewritten from the
    // pages' stored terms) must leave it out, as a clean build does.
    let site = site(&[
        ("content/a.md", &md("A", "Links to [b](b.md), zeppelin.")),
        ("content/b.md", &md("B", "Body of b.")),
        ("content/guide/_index.md", &md("Guide", "Guide.")),
        ("content/guide/one.md", &md("One", "```sql\nselect 1;\n```")),
    ]);
    let serve = site.serve(&[]);
    let mut events = serve.events();
    write(
        &site.root,
        "content/a.md",
        &md("A", "Now links to [one](guide/one.md)."),
    );
    events.expect("reload");
    write(
        &site.root,
        "content/guide/one.md",
        "---\ntitle: One\nextra_key: 1\n---\n```bash\necho hi\n```\n",
    );
    events.expect("reload");
    serve.wait_idle();
    assert_eq!(serve.status()["partial"], 2, "{}", serve.log());
    let clean = site.tmp.path().join("clean");
    clean_build(&site.root, &clean);
    assert!(
        tree(&serve.served_dir()) == tree(&clean),
        "the re-rendered pages differ from a clean build"
    );
    // A title change shows in other pages' navigation: a full build.
    write(&site.root, "content/b.md", &md("B renamed", "Body of b."));
    events.expect("reload");
    serve.wait_idle();
    assert_eq!(serve.status()["full"], 2);
    assert!(serve.get("/a/").body.contains("B renamed"));
}

#[test]
fn fifty_open_reload_streams_never_keep_a_page_from_being_answered() {
    let site = site(&[("content/notes.md", &md("Notes", "Text."))]);
    let serve = site.serve(&[]);
    let streams: Vec<Events> = (0..50).map(|_| serve.events()).collect();
    wait_for("50 streams", || {
        serve.status()["streams"].as_u64().unwrap() >= 50
    });
    for _ in 0..5 {
        let page = serve.get("/notes/");
        assert_eq!(page.status, 200);
        assert!(page.body.contains("Text."));
    }
    let mut streams = streams;
    write(&site.root, "content/notes.md", &md("Notes", "New text."));
    for stream in &mut streams {
        stream.expect("reload");
    }
    assert!(serve.get("/notes/").body.contains("New text."));
}

#[test]
fn pages_are_whole_and_never_missing_while_rebuilding() {
    let mut pages = vec![("content/notes.md".to_string(), md("Notes", "Version 0."))];
    for i in 0..60 {
        pages.push((
            format!("content/more/p{i}.md"),
            md(&format!("P{i}"), "Filler."),
        ));
    }
    let pages: Vec<(&str, &str)> = pages
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let site = site(&pages);
    let serve = site.serve(&[]);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (addr, stop) = (serve.addr.clone(), std::sync::Arc::clone(&stop));
        std::thread::spawn(move || {
            let mut seen = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                for path in [
                    "/notes/",
                    "/more/p7/",
                    "/static/style.css",
                    "/evidence.json",
                ] {
                    let r = send(
                        &addr,
                        &format!(
                            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
                        ),
                    );
                    assert_eq!(r.status, 200, "{path} during a rebuild");
                    if path.ends_with('/') {
                        assert!(
                            r.body.trim_end().ends_with("</html>"),
                            "{path} was cut short"
                        );
                    }
                    seen += 1;
                }
            }
            seen
        })
    };
    let mut events = serve.events();
    for round in 1..=4 {
        // A full build (the configuration changed) and a partial one (a page body changed).
        write(
            &site.root,
            "clinic.yaml",
            &format!("title: Round {round}\n"),
        );
        events.expect("reload");
        write(
            &site.root,
            "content/notes.md",
            &md("Notes", &format!("Version {round}.")),
        );
        events.expect("reload");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let seen = reader.join().expect("every request answered whole");
    assert!(seen > 0);
    let status = serve.status();
    assert!(
        status["full"].as_u64().unwrap() >= 5 && status["partial"].as_u64().unwrap() >= 1,
        "{status}"
    );
    assert!(serve.get("/notes/").body.contains("Version 4."));
}

#[cfg(unix)]
#[test]
fn a_file_name_that_is_not_utf8_never_stops_the_server() {
    use std::os::unix::ffi::OsStrExt;
    let site = site(&[("content/notes.md", &md("Notes", "One."))]);
    let serve = site.serve(&[]);
    let mut events = serve.events();
    let name = std::ffi::OsStr::from_bytes(b"notes\xff.md");
    std::fs::write(site.root.join("content").join(name), md("Odd", "Odd.")).unwrap();
    write(&site.root, "content/notes.md", &md("Notes", "Two."));
    events.expect("reload");
    assert!(serve.get("/notes/").body.contains("Two."));
}

#[test]
fn simultaneous_keep_alive_connections_are_all_answered() {
    // A browser opens several connections at once and keeps them alive. tiny_http can queue
    // some of a burst behind idle keep-alive ones, so every response closes its connection.
    let site = site(&[("content/notes.md", &md("Notes", "Text."))]);
    let serve = site.serve(&[]);
    for _round in 0..5 {
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(12));
        let clients: Vec<_> = (0..12)
            .map(|_| {
                let (addr, barrier) = (serve.addr.clone(), std::sync::Arc::clone(&barrier));
                std::thread::spawn(move || {
                    barrier.wait();
                    let r = send(
                        &addr,
                        &format!("GET /notes/ HTTP/1.1\r\nHost: {addr}\r\n\r\n"),
                    );
                    assert_eq!(r.status, 200);
                    assert_eq!(r.header("Connection").as_deref(), Some("close"));
                })
            })
            .collect();
        for client in clients {
            client.join().expect("every connection answered");
        }
    }
}

#[test]
fn a_browser_reloads_by_itself_shows_the_overlay_and_many_tabs_share_one_stream() {
    if common::browser::browser_available().is_none() {
        return;
    }
    let site = site(&[
        ("content/notes.md", &md("Notes", "First version.")),
        ("content/other.md", &md("Other", "Another page.")),
    ]);
    let serve = site.serve(&[]);
    let url = format!("http://{}/notes/", serve.addr);
    let mut browser = common::browser::Browser::launch(
        &site.tmp.path().join("profile"),
        &site.tmp.path().join("chromium.log"),
    );
    browser.open(&url);
    // Twelve more tabs of the site. With a stream per tab they would hold every one of the
    // browser's six connections to the host, and no further page could load.
    for _ in 0..12 {
        browser.call_browser("Target.createTarget", json!({ "url": url }));
    }
    browser.open(&format!("http://{}/other/", serve.addr));
    browser.open(&url);
    browser.wait_for(
        "(document.body ? document.body.innerText : '').includes('First version.')",
        "the page",
    );

    write(
        &site.root,
        "content/notes.md",
        &md("Notes", "Second version."),
    );
    browser.wait_for(
        "(document.body ? document.body.innerText : '').includes('Second version.')",
        "the page to reload by itself",
    );
    write(
        &site.root,
        "content/notes.md",
        "---\ntitle: [<b>broken\n---\nBroken.\n",
    );
    browser.wait_for(
        "document.getElementById('clinic-serve-overlay') !== null",
        "the overlay",
    );
    let overlay = browser.eval("(document.getElementById('clinic-serve-overlay') || {}).innerText");
    assert!(
        overlay.as_str().unwrap().contains("content/notes.md:2"),
        "{overlay}"
    );
    assert_eq!(
        browser.eval("document.querySelectorAll('b').length"),
        json!(0),
        "the error is text, not markup"
    );
    assert!(
        browser.eval("(document.body ? document.body.innerText : '').includes('Second version.')")
            == json!(true),
        "the last good page stays"
    );
    write(
        &site.root,
        "content/notes.md",
        &md("Notes", "Third version."),
    );
    browser.wait_for("(document.body ? document.body.innerText : '').includes('Third version.') && !document.getElementById('clinic-serve-overlay')", "the fixed page");
    let streams = serve.status()["streams"].as_u64().unwrap();
    assert!(
        streams <= 2,
        "{streams} event streams for thirteen tabs of one browser"
    );
}

#[test]
fn polling_sees_edits_too() {
    let site = site(&[("content/notes.md", &md("Notes", "Before."))]);
    let serve = site.serve(&["--poll", "--debounce", "10"]);
    wait_for("the polling note", || serve.log().contains("(polling)"));
    let mut events = serve.events();
    write(
        &site.root,
        "content/notes.md",
        &md("Notes", "After, seen by polling."),
    );
    events.expect("reload");
    assert!(serve
        .get("/notes/")
        .body
        .contains("After, seen by polling."));
}

// ---------------------------------------------------------------------------------------------
// Safety

#[test]
fn paths_that_leave_the_output_are_refused_and_the_server_stays_up() {
    let site = site(&[("content/notes.md", &md("Notes", "Text."))]);
    std::fs::write(site.tmp.path().join("secret.txt"), "TOP SECRET").unwrap();
    let serve = site.serve(&[]);
    let long = format!("/{}", "a".repeat(8192));
    let targets = [
        "/../../etc/passwd",
        "/../secret.txt",
        "../etc/passwd",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/%2E%2E%2Fsecret.txt",
        "/%252e%252e/%252e%252e/etc/passwd",
        "//etc/passwd",
        "/..\\..\\secret.txt",
        "/%5c..%5csecret.txt",
        "/c:/windows/win.ini",
        "/x/c%3A/windows/win.ini",
        "http://evil/",
        "http://evil/../../etc/passwd",
        "/a%00.html",
        "/%ff%fe",
        "/.clinic-build",
        "/.git/config",
        "/static/%2e%2e/%2e%2e/%2e%2e/secret.txt",
        long.as_str(),
    ];
    for target in targets {
        let response = serve.raw(&format!(
            "GET {target} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            serve.addr
        ));
        assert!(
            matches!(response.status, 400 | 404),
            "{target}: {}",
            response.status
        );
        assert!(
            !response.body.contains("root:"),
            "{target} leaked /etc/passwd"
        );
        assert!(
            !response.body.contains("TOP SECRET"),
            "{target} leaked a file outside the output"
        );
        assert!(
            !response.body.contains(&*site.tmp.path().to_string_lossy()),
            "{target}: an absolute path in the body"
        );
        assert!(
            !response.body.contains("/etc/"),
            "{target}: {}",
            response.body
        );
    }
    assert_eq!(serve.get("/notes/").status, 200, "the server is still up");
}

#[cfg(unix)]
#[test]
fn symlinks_in_the_output_that_point_outside_are_not_followed() {
    let site = site(&[("content/notes.md", &md("Notes", "Text."))]);
    std::fs::write(site.tmp.path().join("secret.txt"), "TOP SECRET").unwrap();
    let serve = site.serve(&[]);
    let out = serve.served_dir();
    std::os::unix::fs::symlink("/etc/passwd", out.join("a.html")).unwrap();
    std::fs::create_dir_all(out.join("sub")).unwrap();
    std::os::unix::fs::symlink(
        site.tmp.path().join("secret.txt"),
        out.join("sub/index.html"),
    )
    .unwrap();
    std::os::unix::fs::symlink("/", out.join("d")).unwrap();
    std::os::unix::fs::symlink(site.tmp.path(), out.join("up")).unwrap();
    for target in ["/a.html", "/sub/", "/d/etc/passwd", "/up/secret.txt"] {
        let response = serve.get(target);
        assert_eq!(response.status, 404, "{target}");
        assert!(
            !response.body.contains("root:") && !response.body.contains("TOP SECRET"),
            "{target}"
        );
    }
}

#[test]
fn only_get_and_head_from_this_machine_and_no_cors() {
    let site = site(&[("content/notes.md", &md("Notes", "Text."))]);
    let serve = site.serve(&[]);
    let host = &serve.addr;
    for method in ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"] {
        let r = serve.raw(&format!("{method} /notes/ HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"));
        assert_eq!(r.status, 405, "{method}");
        assert_eq!(r.header("Allow").as_deref(), Some("GET, HEAD"));
    }
    let head = serve.raw(&format!(
        "HEAD /notes/ HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    ));
    assert_eq!(head.status, 200);
    assert!(head
        .header("Content-Type")
        .unwrap()
        .starts_with("text/html"));

    for bad_host in [
        "attacker.example",
        "attacker.example:80",
        "localhost.attacker.example",
    ] {
        let r = serve.raw(&format!(
            "GET /notes/ HTTP/1.1\r\nHost: {bad_host}\r\nConnection: close\r\n\r\n"
        ));
        assert_eq!(r.status, 403, "{bad_host}");
        assert!(!r.body.contains("Text."));
    }
    let no_host = serve.raw("GET /notes/ HTTP/1.0\r\n\r\n");
    assert_eq!(no_host.status, 403);
    for good_host in [
        host.clone(),
        host.replace("127.0.0.1", "localhost"),
        "[::1]:1".to_string(),
    ] {
        let r = serve.raw(&format!(
            "GET /notes/ HTTP/1.1\r\nHost: {good_host}\r\nConnection: close\r\n\r\n"
        ));
        assert_eq!(r.status, 200, "{good_host}");
    }
    let cross_site = serve.raw(&format!(
        "GET /__clinic/events HTTP/1.1\r\nHost: {host}\r\nOrigin: https://attacker.example\r\nConnection: close\r\n\r\n"
    ));
    assert_eq!(
        cross_site.status, 403,
        "a foreign page may not open the reload stream"
    );

    for target in [
        "/",
        "/notes/",
        "/static/style.css",
        "/evidence.json",
        "/missing/",
        "/__clinic/status",
        "/../x",
    ] {
        let r = serve.raw(&format!("GET {target} HTTP/1.1\r\nHost: {host}\r\nOrigin: http://{host}\r\nConnection: close\r\n\r\n"));
        assert!(
            r.header("Access-Control-Allow-Origin").is_none(),
            "{target}: {}",
            r.head
        );
    }
    assert_eq!(serve.get("/missing/").status, 404);
    let dir = serve.get("/notes");
    assert_eq!(dir.status, 301);
    assert_eq!(dir.header("Location").as_deref(), Some("/notes/"));
}

#[test]
fn the_site_is_served_under_the_base_path_of_base_url() {
    let site = site(&[("content/notes.md", &md("Notes", "See [home](_index.md)."))]);
    let serve = site.serve(&["--base-url", "https://someone.github.io/portfolio"]);
    assert_eq!(serve.base, "/portfolio/");
    let page = serve.get("/portfolio/notes/");
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("href=\"/portfolio/static/"),
        "links start with the base path"
    );
    assert!(
        page.body.contains("base = \"/portfolio/\";"),
        "the reload script uses the base path:\n{}",
        page.body
    );
    assert_eq!(
        serve.get("/portfolio/__clinic/reload-worker.js").status,
        200
    );
    let root = serve.get("/");
    assert_eq!(root.status, 301);
    assert_eq!(root.header("Location").as_deref(), Some("/portfolio/"));
    assert_eq!(serve.get("/portfolio").status, 301);
    assert_eq!(serve.get("/notes/").status, 404);
    assert_eq!(serve.get("/portfolio/static/style.css").status, 200);
    let mut events = serve.events();
    write(&site.root, "content/notes.md", &md("Notes", "Moved on."));
    events.expect("reload");
    assert!(serve.get("/portfolio/notes/").body.contains("Moved on."));
}

#[test]
fn binding_beyond_loopback_warns() {
    let site = site(&[]);
    let mut command = common::clinic_command();
    command
        .args([
            "serve", "--bind", "0.0.0.0", "--port", "0", "--quiet", "--root",
        ])
        .arg(&site.root);
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _ = child.kill();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(line.starts_with("Serving http://127.0.0.1:"), "{line}");
    assert!(stderr.contains("warning: binding 0.0.0.0"), "{stderr}");
}

#[cfg(unix)]
#[test]
fn ctrl_c_stops_cleanly_and_removes_the_builds() {
    let site = site(&[("content/notes.md", &md("Notes", "Text."))]);
    let mut serve = site.serve(&["--quiet"]);
    let work = serve.served_dir().parent().unwrap().to_path_buf();
    assert!(work.is_dir());
    assert_eq!(
        std::fs::read_to_string(site.root.join(".clinic/serve/.gitignore"))
            .unwrap()
            .lines()
            .last(),
        Some("*")
    );
    let pid = libc::pid_t::try_from(serve.child.id()).unwrap();
    // SAFETY: signalling our own child process.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let mut status = None;
    wait_for("the server to exit", || {
        status = serve.child.try_wait().unwrap();
        status.is_some()
    });
    assert_eq!(status.unwrap().code(), Some(0));
    assert!(!work.exists(), "the build directories are removed");
    assert_eq!(
        serve.log(),
        "",
        "--quiet prints nothing but errors on standard error"
    );
}

#[test]
fn usage_errors_and_a_taken_port_exit_2() {
    let run = |args: &[&str]| common::clinic_command().args(args).output().unwrap();
    let missing = run(&["serve", "--root", "/nonexistent/clinic-site", "--port", "0"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("is not a directory"));
    let site = site(&[]);
    let root = site.root.to_str().unwrap();
    let bad_url = run(&[
        "serve",
        "--root",
        root,
        "--port",
        "0",
        "--base-url",
        "ftp://x",
    ]);
    assert_eq!(bad_url.status.code(), Some(2));
    let bad_bind = run(&["serve", "--root", root, "--bind", "localhost"]);
    assert_eq!(
        bad_bind.status.code(),
        Some(2),
        "--bind takes an IP address"
    );
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let busy = run(&["serve", "--root", root, "--port", &port]);
    // Exit 1 means the content has errors; a taken port is the command line's to fix.
    assert_eq!(busy.status.code(), Some(2));
    // Nothing is left behind: the port is bound before the preview's work folder is made.
    let work = site.root.join(".clinic/serve");
    let left: Vec<_> = std::fs::read_dir(&work)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name())
                .filter(|n| n != ".gitignore")
                .collect()
        })
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
    let stderr = String::from_utf8_lossy(&busy.stderr);
    assert!(stderr.contains("--port 0"), "{stderr}");
    let help = run(&["serve", "--help"]);
    let help = String::from_utf8_lossy(&help.stdout);
    for option in [
        "--root",
        "--port",
        "--bind",
        "--base-url",
        "--poll",
        "--debounce",
        "--drafts",
        "--quiet",
    ] {
        assert!(help.contains(option), "{option} in --help");
    }
}
