//! Hardening of `clinic serve` (and of the output directory) over real HTTP on 127.0.0.1:
//! live-reload fields that a file name cannot forge, and staging folders of killed builds
//! removed by the next build.
//!
//! Each server is owned by a [`Serve`] guard that kills the process on drop.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long any single wait may take before the test fails (a debug build on a busy machine).
const DEADLINE: Duration = Duration::from_secs(90);

struct Serve {
    child: Child,
    /// `127.0.0.1:PORT`
    addr: String,
    log: PathBuf,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn write(root: &Path, rel: impl AsRef<Path>, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn md(title: &str, body: &str) -> String {
    format!("---\ntitle: {title}\n---\n{body}\n")
}

/// A site root `<tmp>/site` with one page.
fn site() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("site");
    write(&root, "content/notes.md", &md("Notes", "Text."));
    (tmp, root)
}

fn serve(root: &Path, log: &Path, env: &[(&str, &str)]) -> Serve {
    serve_with(root, log, env, None)
}

/// `clinic serve`, optionally allowed only `files` open file descriptors.
fn serve_with(root: &Path, log: &Path, env: &[(&str, &str)], files: Option<u64>) -> Serve {
    let mut command = Command::new(env!("CARGO_BIN_EXE_clinic"));
    #[cfg(unix)]
    if let Some(files) = files {
        use std::os::unix::process::CommandExt;
        let limit = libc::rlimit {
            rlim_cur: files as libc::rlim_t,
            rlim_max: files as libc::rlim_t,
        };
        // SAFETY: setrlimit is async-signal-safe; `limit` is copied into the closure.
        unsafe {
            command.pre_exec(move || {
                if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) == 0 {
                    Ok(())
                } else {
                    Err(std::io::Error::last_os_error())
                }
            });
        }
    }
    command
        .args(["serve", "--port", "0", "--root"])
        .arg(root)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).unwrap());
    for (k, v) in env {
        command.env(k, v);
    }
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
        log: log.to_path_buf(),
    };
    let line = rx
        .recv_timeout(DEADLINE)
        .unwrap_or_else(|_| panic!("no URL printed; stderr:\n{}", serve.log()));
    let url = line
        .strip_prefix("Serving http://")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    serve.addr = url[..url.find('/').unwrap()].to_string();
    serve
}

impl Serve {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn connect(&self) -> TcpStream {
        let stream = TcpStream::connect(&self.addr).expect("connect to clinic serve");
        stream.set_read_timeout(Some(DEADLINE)).unwrap();
        stream
    }
}

// ---------------------------------------------------------------------------------------------
// 1. Live-reload fields

/// The lines of an event stream as a browser splits them: on CRLF, CR or LF.
fn sse_lines(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                lines.push(std::mem::take(&mut line));
            }
            '\n' => lines.push(std::mem::take(&mut line)),
            c => line.push(c),
        }
    }
    lines
}

#[cfg(unix)]
#[test]
fn a_carriage_return_in_a_file_name_cannot_forge_reload_fields() {
    let (tmp, root) = site();
    let serve = serve(&root, &tmp.path().join("serve.log"), &[]);
    let mut stream = serve.connect();
    let request = format!(
        "GET /__clinic/events HTTP/1.1\r\nHost: {}\r\nAccept: text/event-stream\r\n\r\n",
        serve.addr
    );
    stream.write_all(request.as_bytes()).unwrap();
    // A page whose name holds CRs (and LFs) that spell fields, and whose front matter is
    // broken so that the build error (which names the file) is sent to the page.
    let name = "x\rid: 999\rretry: 1\revent: reload\r\rdata: forged\n\nevent: reload\n.md";
    write(
        &root,
        Path::new("content").join(name),
        "---\ntitle: [unclosed\n---\nBroken.\n",
    );
    let deadline = Instant::now() + DEADLINE;
    let mut received = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        assert!(
            Instant::now() < deadline,
            "no build-error event; got {:?}\n{}",
            String::from_utf8_lossy(&received),
            serve.log()
        );
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        match stream.read(&mut buf) {
            Ok(0) => panic!("the stream closed"),
            Ok(n) => received.extend_from_slice(&buf[..n]),
            Err(_) => {}
        }
        let text = String::from_utf8_lossy(&received);
        // The head ends at the first blank line; complete events end with a blank line.
        if text.contains("event: build-error") && text.ends_with("\n\n") {
            break;
        }
    }
    let text = String::from_utf8_lossy(&received).into_owned();
    let body = &text[text.find("\r\n\r\n").unwrap() + 4..];
    let lines = sse_lines(body);
    let mut events = Vec::new();
    let mut current: Vec<String> = Vec::new();
    for line in &lines {
        if line.is_empty() {
            if !current.is_empty() {
                events.push(std::mem::take(&mut current));
            }
            continue;
        }
        let field = line.split(':').next().unwrap();
        assert!(
            matches!(field, "" | "data" | "event" | "id" | "retry"),
            "unknown field {line:?}"
        );
        match field {
            "id" => assert!(
                line.trim_start_matches("id: ").parse::<u64>().is_ok() && line != "id: 999",
                "forged id: {line:?}\n{body:?}"
            ),
            "retry" => assert_eq!(line, "retry: 1000", "forged retry\n{body:?}"),
            "event" => assert!(
                matches!(line.as_str(), "event: hello" | "event: build-error"),
                "forged event: {line:?}\n{body:?}"
            ),
            _ => {}
        }
        current.push(line.clone());
    }
    let build_error = events
        .iter()
        .find(|e| e.iter().any(|l| l == "event: build-error"))
        .expect("a build-error event");
    let data: Vec<&str> = build_error
        .iter()
        .filter_map(|l| l.strip_prefix("data: "))
        .collect();
    assert!(
        data.iter().any(|d| d.contains("id: 999")),
        "the name is still shown, as data: {data:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// 2. Request heads, closing, idle connections, threads

/// The pid of a process that has ended (spawned and reaped).
fn dead_pid() -> u32 {
    let mut child = Command::new("true").spawn().expect("run true");
    let pid = child.id();
    child.wait().unwrap();
    assert!(!Path::new(&format!("/proc/{pid}")).exists());
    pid
}

#[cfg(target_os = "linux")]
#[test]
fn a_build_removes_staging_folders_of_dead_processes_only() {
    let (_tmp, root) = site();
    let dead = dead_pid();
    let live = std::process::id();
    let stale = root.join(format!(".public.clinic-new-{dead}-AbC123"));
    let mine = root.join(format!(".public.clinic-new-{live}-XyZ789"));
    // Neither ours to remove: no pid, another output's name, a file, pid 0.
    let others = [
        root.join(".public.clinic-new-AbC123"),
        root.join(format!(".docs.clinic-new-{dead}-AbC123")),
        root.join(format!("public.clinic-new-{dead}-AbC123")),
        root.join(".public.clinic-new-0-AbC123"),
    ];
    let file = root.join(format!(".public.clinic-new-{dead}-file00"));
    for dir in [&stale, &mine].into_iter().chain(others.iter()) {
        write(dir, "index.html", "old");
        write(dir, ".clinic-build", "marker");
    }
    std::fs::write(&file, "a file, not a staging folder").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_clinic"))
        .args(["build", "--quiet", "--root"])
        .arg(&root)
        .arg("--out")
        .arg(root.join("public"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(root.join("public/index.html").is_file());
    assert!(!stale.exists(), "the dead process's staging folder is gone");
    assert!(mine.join("index.html").is_file(), "a live process's stays");
    for other in &others {
        assert!(other.join("index.html").is_file(), "{}", other.display());
    }
    assert!(file.is_file(), "a file is never removed");
    // Nothing else left over by the build itself.
    let mut names: Vec<String> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("clinic-new"))
        .collect();
    names.sort();
    assert_eq!(names.len(), 6, "{names:?}");
}
