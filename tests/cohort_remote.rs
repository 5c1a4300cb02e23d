//! `clinic cohort` over students given as git URLs, against real git servers on 127.0.0.1:
//! `git daemon` serving 100 repositories (and a demo repository whose four badges verify), a
//! `file://` URL, a repository that does not exist, an HTTP server that asks for a password
//! (git must not prompt), and a server that accepts and never answers (git is stopped at
//! `--git-timeout`). Mirrors are kept in the cache and fetched again on the next run.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::git::{git_cli, temp_dir, RepoBuilder};
use serde_json::Value;

/// `git daemon` serving every repository under `base`; killed on drop.
struct GitDaemon {
    child: Child,
    port: u16,
}

impl GitDaemon {
    fn start(base: &Path) -> GitDaemon {
        let port = free_port();
        let mut command = Command::new("git");
        // Its own process group: `git daemon` runs `git-daemon`, which must die with it.
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let child = command
            .arg("daemon")
            .arg("--reuseaddr")
            .arg("--export-all")
            .arg("--listen=127.0.0.1")
            .arg(format!("--port={port}"))
            .arg(format!("--base-path={}", base.display()))
            .arg(base)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("git daemon (part of Debian's git package)");
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "git daemon did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        GitDaemon { child, port }
    }

    fn url(&self, name: &str) -> String {
        format!("git://127.0.0.1:{}/{name}", self.port)
    }
}

impl Drop for GitDaemon {
    fn drop(&mut self) {
        #[cfg(unix)]
        if let Ok(pid) = i32::try_from(self.child.id()) {
            // SAFETY: signals the process group created for the daemon above.
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An HTTP server that answers every request `401` with a Basic challenge: git would ask for a
/// user name on the terminal.
fn password_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(
                b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"x\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    });
    port
}

/// A server that accepts connections and never sends a byte.
fn silent_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    port
}

/// A small student repository with one commit naming the student.
fn small_repo(dir: &Path, who: &str) {
    RepoBuilder::init(dir)
        .write("README.md", &format!("# {who}'s service\n"))
        .commit("2026-09-01 10:00", &format!("Start {who}'s service"));
}

fn write_roster(path: &Path, students: &[(String, String)]) {
    let mut text = String::from("title: Remote cohort\nstudents:\n");
    for (name, url) in students {
        text.push_str(&format!("  - name: {name}\n    repo: {url}\n"));
    }
    std::fs::write(path, text).unwrap();
}

fn cohort(roster: &Path, out: &Path, extra: &[&str]) -> (std::process::Output, Value) {
    let output = common::clinic_command()
        .arg("cohort")
        .arg(roster)
        .arg("--out")
        .arg(out)
        .args(extra)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let json = std::fs::read_to_string(out.join("cohort.json"))
        .map(|text| serde_json::from_str(&text).unwrap())
        .unwrap_or(Value::Null);
    (output, json)
}

fn row<'a>(json: &'a Value, name: &str) -> &'a Value {
    json["students"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no row for {name}"))
}

fn mirrors(cache: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    found.sort();
    found
}

#[test]
fn a_hundred_git_urls_are_mirrored_and_built_and_a_demo_verifies() {
    let tmp = temp_dir();
    let served = tmp.path().join("served");
    for i in 0..100 {
        small_repo(&served.join(format!("s{i:03}")), &format!("Student {i}"));
    }
    RepoBuilder::demo(&served.join("ada"));
    let daemon = GitDaemon::start(&served);
    let mut students: Vec<(String, String)> = (0..100)
        .map(|i| (format!("Student {i:03}"), daemon.url(&format!("s{i:03}"))))
        .collect();
    students.push(("Ada".into(), daemon.url("ada")));
    let roster = tmp.path().join("roster.yaml");
    write_roster(&roster, &students);
    let out = tmp.path().join("out");

    let (output, json) = cohort(&roster, &out, &["--jobs", "4", "--quiet"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    for (name, url) in &students {
        let row = row(&json, name);
        assert_eq!(row["error"], Value::Null, "{name}: {}", row["error"]);
        assert_eq!(row["source"]["value"], url.as_str());
        assert_eq!(row["trust"], "rechecked");
    }
    let first = row(&json, "Student 007");
    assert_eq!(
        first["last_commit"]["summary"], "Start Student 7's service",
        "each student is built from their own repository"
    );
    // The demo's history proves all four skills, fetched over git:// like any other.
    let ada = row(&json, "Ada");
    for kind in ["rehearsal", "migration", "smoke", "flag"] {
        assert_eq!(ada["badges"][kind]["state"], "verified", "{kind}: {ada}");
    }
    assert!(out.join("students/ada/portfolio/index.html").is_file());
    // One bare mirror per URL in the default cache, nothing half-made left over.
    let cache = tmp.path().join(".clinic/repos");
    let kept = mirrors(&cache);
    assert_eq!(kept.len(), 101, "{kept:?}");
    for mirror in &kept {
        let name = mirror.file_name().unwrap().to_string_lossy();
        assert!(name.ends_with(".git"), "{name}");
        assert_eq!(
            git_cli(mirror, &["rev-parse", "--is-bare-repository"]).trim(),
            "true"
        );
    }
    // The throw-away clones are gone.
    let leftovers: Vec<_> = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with("clinic-student-") && e.path().join("repo/README.md").is_file()
        })
        .filter(|e| {
            std::fs::read_to_string(e.path().join("repo/README.md"))
                .is_ok_and(|t| t.contains("Student 0"))
        })
        .collect();
    assert!(leftovers.is_empty(), "{} clones left", leftovers.len());
}

#[test]
fn mirrors_are_fetched_again_and_bad_urls_are_error_cells_that_never_prompt_or_hang() {
    let tmp = temp_dir();
    let served = tmp.path().join("served");
    small_repo(&served.join("ada"), "Ada");
    let grace = served.join("grace");
    small_repo(&grace, "Grace");
    let daemon = GitDaemon::start(&served);
    let students = vec![
        ("Ada".to_string(), daemon.url("ada")),
        ("Grace".to_string(), format!("file://{}", grace.display())),
        ("Nobody".to_string(), daemon.url("nobody")),
        (
            "Private".to_string(),
            format!("http://127.0.0.1:{}/private.git", password_server()),
        ),
        (
            "Token".to_string(),
            format!(
                "http://ada:SECRET-TOKEN@127.0.0.1:{}/private.git",
                password_server()
            ),
        ),
        (
            "Silent".to_string(),
            format!("git://127.0.0.1:{}/silent", silent_server()),
        ),
    ];
    let roster = tmp.path().join("roster.yaml");
    write_roster(&roster, &students);
    let out = tmp.path().join("out");
    let cache = tmp.path().join("cache");
    let args = [
        "--quiet",
        "--cache",
        cache.to_str().unwrap(),
        "--git-timeout",
        "3",
    ];

    let started = Instant::now();
    let (output, json) = cohort(&roster, &out, &args);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // Stopped at the timeout, not waiting for a password or a silent server.
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(row(&json, "Ada")["error"], Value::Null);
    assert_eq!(row(&json, "Grace")["error"], Value::Null);
    let nobody = row(&json, "Nobody")["error"].as_str().unwrap().to_string();
    assert!(
        nobody.starts_with(&format!("cannot clone {}: ", daemon.url("nobody"))),
        "{nobody}"
    );
    let private = row(&json, "Private")["error"].as_str().unwrap().to_string();
    assert!(
        private.contains("terminal prompts disabled")
            || private.contains("could not read Username"),
        "{private}"
    );
    let silent = row(&json, "Silent")["error"].as_str().unwrap().to_string();
    assert!(silent.contains("took longer than 3 s"), "{silent}");
    let made = mirrors(&cache);
    assert_eq!(made.len(), 2, "only complete mirrors are kept: {made:?}");
    // A token in a roster URL is used, never shown.
    for file in ["index.html", "cohort.csv", "cohort.json"] {
        let text = std::fs::read_to_string(out.join(file)).unwrap();
        assert!(!text.contains("SECRET-TOKEN"), "{file} shows the token");
    }
    let token = row(&json, "Token");
    assert!(token["source"]["value"]
        .as_str()
        .unwrap()
        .starts_with("http://127.0.0.1:"));
    assert!(
        token["error"]
            .as_str()
            .unwrap()
            .contains("Authentication failed"),
        "{token}"
    );

    // A new commit upstream is fetched on the next run, even after the default branch was
    // renamed (the mirror follows the server's HEAD; `main` is pruned).
    RepoBuilder::open(&served.join("ada"))
        .write("NEWS.md", "Shipped.\n")
        .commit("2026-09-02 10:00", "Ship the first release");
    git_cli(&served.join("ada"), &["branch", "-m", "main", "trunk"]);
    let (output, json) = cohort(&roster, &out, &args);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        row(&json, "Ada")["last_commit"]["summary"],
        "Ship the first release"
    );
    assert_eq!(mirrors(&cache), made, "the same mirrors, updated in place");
}

#[test]
fn a_cache_inside_the_output_is_refused() {
    let tmp = temp_dir();
    let roster = tmp.path().join("roster.yaml");
    write_roster(
        &roster,
        &[("Ada".into(), "https://example.invalid/ada".into())],
    );
    let out = tmp.path().join("out");
    let cache = out.join("repos");
    let (output, _) = cohort(&roster, &out, &["--cache", cache.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--cache"), "{stderr}");
}
