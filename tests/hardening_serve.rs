//! Hardening of `clinic serve` (and of the output directory) over real HTTP on 127.0.0.1:
//! live-reload fields that a file name cannot forge, staging folders of killed builds removed
//! by the next build, and bounds on what one client may cost the preview (head size, idle
//! time, open connections, connections closed after their response).
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

// ---------------------------------------------------------------------------------------------
// 3. What one client may cost: head size, idle time, connections, keep-alive

/// A `key: N kB` field of `/proc/<pid>/status` (Linux), in KiB.
#[cfg(target_os = "linux")]
fn proc_status(pid: u32, key: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .unwrap_or_else(|| panic!("no {key} in /proc/{pid}/status"));
    line.trim_start_matches(':')
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

impl Serve {
    /// A plain GET of the home page on a new connection: the status line.
    fn status_line(&self) -> String {
        let mut stream = self.connect();
        write!(stream, "GET / HTTP/1.1\r\nHost: {}\r\n\r\n", self.addr).unwrap();
        let mut text = String::new();
        let _ = stream.read_to_string(&mut text);
        text.lines().next().unwrap_or_default().to_string()
    }
}

/// What the server sent on `stream` before closing it (a reset after the answer is fine: the
/// answer was read first).
fn answer(stream: &mut TcpStream) -> String {
    let mut bytes = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => bytes.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

#[test]
fn a_request_head_over_64_kib_is_answered_431() {
    let (tmp, root) = site();
    let serve = serve(&root, &tmp.path().join("log"), &[]);
    let mut stream = serve.connect();
    let head = format!("GET / HTTP/1.1\r\nHost: {}\r\nX-Big: ", serve.addr);
    stream.write_all(head.as_bytes()).unwrap();
    // Past the cap, and never ended: the server must answer without waiting for more.
    let _ = stream.write_all(&vec![b'a'; 65 * 1024]);
    let text = answer(&mut stream);
    assert!(
        text.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"),
        "{text:?}"
    );
    assert!(text.contains("Connection: close\r\n"), "{text:?}");
    // A head just under the cap is an ordinary request.
    let mut stream = serve.connect();
    let filler = "a".repeat(60 * 1024);
    write!(
        stream,
        "GET / HTTP/1.1\r\nHost: {}\r\nX-Big: {filler}\r\n\r\n",
        serve.addr
    )
    .unwrap();
    assert!(answer(&mut stream).starts_with("HTTP/1.1 200 OK\r\n"));
}

#[cfg(target_os = "linux")]
#[test]
fn twenty_clients_sending_16_mb_heads_leave_memory_flat() {
    let (tmp, root) = site();
    let serve = serve(&root, &tmp.path().join("log"), &[]);
    let before = proc_status(serve.child.id(), "VmRSS");
    let senders: Vec<_> = (0..20)
        .map(|_| {
            let (addr, mut stream) = (serve.addr.clone(), serve.connect());
            std::thread::spawn(move || {
                let head = format!("GET / HTTP/1.1\r\nHost: {addr}\r\nX-Big: ");
                stream.write_all(head.as_bytes()).unwrap();
                let chunk = vec![b'a'; 64 * 1024];
                // 16 MB, or until the server has closed the connection.
                let sent = (0..256).take_while(|_| stream.write_all(&chunk).is_ok());
                sent.count()
            })
        })
        .collect();
    for sender in senders {
        let chunks = sender.join().unwrap();
        assert!(chunks < 256, "the server read a 16 MB head to the end");
    }
    let after = proc_status(serve.child.id(), "VmRSS");
    assert!(
        after < before + 32 * 1024,
        "RSS grew from {before} KiB to {after} KiB"
    );
    assert_eq!(serve.status_line(), "HTTP/1.1 200 OK");
}

#[test]
fn the_server_closes_the_connections_it_answers_with_connection_close() {
    let (tmp, root) = site();
    let serve = serve(&root, &tmp.path().join("log"), &[]);
    let mut stream = serve.connect();
    // An HTTP/1.1 request without `Connection: close`: the client would keep it open.
    write!(stream, "GET / HTTP/1.1\r\nHost: {}\r\n\r\n", serve.addr).unwrap();
    let started = Instant::now();
    let mut text = String::new();
    stream
        .read_to_string(&mut text)
        .expect("the server closes the connection");
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text:?}");
    assert!(text.contains("Connection: close\r\n"));
    assert!(text.ends_with("</html>\n"), "the whole page came: {text:?}");
    // Closed by the server, not by the idle timeout (ten seconds) nor by the test's deadline.
    assert!(started.elapsed() < Duration::from_secs(5));
    // A second request on it finds the connection closed.
    let _ = write!(stream, "GET / HTTP/1.1\r\nHost: {}\r\n\r\n", serve.addr);
    let mut more = String::new();
    let _ = stream.read_to_string(&mut more);
    assert_eq!(more, "", "a second request was answered");
}

#[test]
fn a_request_head_sent_too_slowly_is_answered_408() {
    let (tmp, root) = site();
    let env = [("CLINIC_SERVE_IDLE_TIMEOUT_MS", "1500")];
    let serve = serve(&root, &tmp.path().join("log"), &env);
    let mut stream = serve.connect();
    let started = Instant::now();
    write!(stream, "GET / HTTP/1.1\r\nHost: {}\r\n", serve.addr).unwrap();
    // One header byte every 300 ms: each read is quick, the head as a whole is not.
    let trickle = std::thread::spawn({
        let mut stream = stream.try_clone().unwrap();
        move || {
            for _ in 0..40 {
                if stream.write_all(b"X").is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(300));
            }
        }
    });
    let text = answer(&mut stream);
    assert!(
        text.starts_with("HTTP/1.1 408 Request Timeout\r\n"),
        "{text:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
    trickle.join().unwrap();
}

#[cfg(target_os = "linux")]
#[test]
fn idle_connections_are_bounded_answered_503_past_the_limit_and_timed_out() {
    let (tmp, root) = site();
    let env = [("CLINIC_SERVE_IDLE_TIMEOUT_MS", "4000")];
    let serve = serve(&root, &tmp.path().join("log"), &env);
    let threads_before = proc_status(serve.child.id(), "Threads");
    // 300 connections that never send a byte.
    let mut idle: Vec<TcpStream> = (0..300).map(|_| serve.connect()).collect();
    std::thread::sleep(Duration::from_millis(500));
    let threads = proc_status(serve.child.id(), "Threads");
    assert!(
        threads < threads_before + 140,
        "{threads} threads for 300 idle connections (from {threads_before})"
    );
    // The ones past the limit were answered at once; the others are waiting.
    let mut refused = 0;
    for stream in &mut idle {
        stream
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let mut buf = [0u8; 512];
        if let Ok(n) = stream.read(&mut buf) {
            if buf[..n].starts_with(b"HTTP/1.1 503 ") {
                refused += 1;
            }
        }
    }
    assert!((150..=172).contains(&refused), "{refused} answered 503");
    // After the idle timeout, the server has closed every one of them, without an answer.
    std::thread::sleep(Duration::from_millis(4500));
    for stream in &mut idle {
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut rest = Vec::new();
        // Closed: end of file, or a reset after a 503; still open: the read times out.
        if let Err(e) = stream.read_to_end(&mut rest) {
            assert!(
                !matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ),
                "a connection still open after the idle timeout"
            );
        }
        let rest = String::from_utf8_lossy(&rest);
        assert!(
            rest.is_empty() || rest.starts_with("HTTP/1.1 503 "),
            "{rest:?}"
        );
    }
    assert_eq!(serve.status_line(), "HTTP/1.1 200 OK");
}

/// Found in review: a body was read before the answer, into a buffer the size the client
/// announced (`Content-Length: 1000000000000000` aborted the process; `usize::MAX` made every
/// worker panic). Now a connection that closes after its request never reads the body.
#[test]
fn an_announced_huge_body_is_never_read_or_allocated() {
    let (tmp, root) = site();
    let serve = serve(&root, &tmp.path().join("log"), &[]);
    for length in [
        "1000000000000000",
        "18446744073709551615",
        "18446744073709551615",
    ]
    .iter()
    .cycle()
    .take(10)
    {
        let mut stream = serve.connect();
        write!(
            stream,
            "POST / HTTP/1.1\r\nHost: {}\r\nContent-Length: {length}\r\n\r\nabc",
            serve.addr
        )
        .unwrap();
        let text = answer(&mut stream);
        assert!(text.starts_with("HTTP/1.1 405 "), "{length}: {text:?}");
    }
    assert_eq!(serve.status_line(), "HTTP/1.1 200 OK");
}

/// Found in review: small bodies (up to 1 KiB) were read on the connection's thread before the
/// request was handed over, one byte at a time past the head's deadline, holding a connection
/// slot each: 128 of them made the preview answer 503 to everyone.
#[test]
fn slow_bodies_hold_no_connection_slot() {
    let (tmp, root) = site();
    let env = [("CLINIC_SERVE_IDLE_TIMEOUT_MS", "3000")];
    let serve = serve(&root, &tmp.path().join("log"), &env);
    let mut drips: Vec<TcpStream> = (0..140)
        .map(|_| {
            let mut stream = serve.connect();
            write!(
                stream,
                "POST / HTTP/1.1\r\nHost: {}\r\nContent-Length: 1000\r\n\r\nx",
                serve.addr
            )
            .unwrap();
            stream
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    for stream in &mut drips {
        let _ = stream.write_all(b"x");
    }
    assert_eq!(serve.status_line(), "HTTP/1.1 200 OK");
}

/// Found in review: out of file descriptors, the accept thread panicked (or stopped on the
/// error and ended every request loop with it), and the preview never answered again.
#[cfg(unix)]
#[test]
fn running_out_of_file_descriptors_drops_connections_not_the_server() {
    let (tmp, root) = site();
    let env = [("CLINIC_SERVE_IDLE_TIMEOUT_MS", "1500")];
    let serve = serve_with(&root, &tmp.path().join("log"), &env, Some(160));
    let idle: Vec<TcpStream> = (0..150).map(|_| serve.connect()).collect();
    std::thread::sleep(Duration::from_millis(500));
    drop(idle);
    // Once the idle connections are gone, the server answers again.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if serve.status_line() == "HTTP/1.1 200 OK" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no answer after running out of descriptors:\n{}",
            serve.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
