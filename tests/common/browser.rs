//! A real browser for the integration tests: Debian's headless `chromium`, driven over the
//! Chrome DevTools Protocol on a pipe (`--remote-debugging-pipe`: fds 3 and 4, NUL-separated
//! JSON), and a small static HTTP server on 127.0.0.1 to serve a built site to it.
//!
//! Used by `tests/browser.rs` (the handbook's styles) and `tests/portfolio.rs` (the portfolio's
//! badges, timelines and untrusted text).

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// Serves a directory over HTTP on 127.0.0.1 (GET and HEAD only, `index.html` for folders),
/// recording the paths it served and those it could not serve.
///
/// Every connection gets its own thread and is closed after one response. (tiny_http's
/// connection pool can leave a burst of new keep-alive connections queued behind the ones its
/// four threads hold open: Chromium opens six at once for a page with a few images, and the
/// last images then never load.)
pub struct StaticServer {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    /// The port it listens on.
    pub port: u16,
    /// Paths asked for that it could not serve.
    pub misses: Arc<Mutex<Vec<String>>>,
    /// Paths it served.
    pub served: Arc<Mutex<BTreeSet<String>>>,
}

impl StaticServer {
    pub fn start(dir: PathBuf) -> StaticServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("a local address").port();
        let stop = Arc::new(AtomicBool::new(false));
        let misses = Arc::new(Mutex::new(Vec::new()));
        let served = Arc::new(Mutex::new(BTreeSet::new()));
        let thread = {
            let (stop, misses, served) = (stop.clone(), misses.clone(), served.clone());
            let dir = Arc::new(dir);
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let (dir, misses, served) = (dir.clone(), misses.clone(), served.clone());
                    std::thread::spawn(move || serve_one(stream, &dir, &misses, &served));
                }
            })
        };
        StaticServer {
            stop,
            thread: Some(thread),
            port,
            misses,
            served,
        }
    }
}

impl Drop for StaticServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop up, so that it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Reads one request from the connection, answers it and closes the connection.
fn serve_one(
    mut stream: TcpStream,
    dir: &Path,
    misses: &Mutex<Vec<String>>,
    served: &Mutex<BTreeSet<String>>,
) {
    let _ = stream.set_read_timeout(Some(TIMEOUT));
    let mut head = Vec::new();
    let mut buffer = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => return, // a connection opened early and never used, say
            Ok(n) => head.extend_from_slice(&buffer[..n]),
        }
        if head.len() > 64 * 1024 {
            return;
        }
    }
    let head = String::from_utf8_lossy(&head);
    let mut request_line = head.lines().next().unwrap_or("").split(' ');
    let (method, target) = (
        request_line.next().unwrap_or(""),
        request_line.next().unwrap_or("/"),
    );
    let (status, content_type, body) = respond(dir, method, target, misses, served);
    let reason = match status {
        200 => "OK",
        403 => "Forbidden",
        404 => "Not Found",
        _ => "Method Not Allowed",
    };
    let mut response = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    if method != "HEAD" {
        response.extend_from_slice(&body);
    }
    let _ = stream.write_all(&response);
    let _ = stream.flush();
    let _ = stream.shutdown(Shutdown::Write);
}

/// The status, content type and body for a request.
fn respond(
    dir: &Path,
    method: &str,
    url: &str,
    misses: &Mutex<Vec<String>>,
    served: &Mutex<BTreeSet<String>>,
) -> (u16, &'static str, Vec<u8>) {
    const TEXT: &str = "text/plain; charset=utf-8";
    if method != "GET" && method != "HEAD" {
        return (405, TEXT, b"method not allowed".to_vec());
    }
    let path = super::percent_decode(url.split(['?', '#']).next().unwrap_or("/"));
    let rel = path.trim_start_matches('/');
    let mut file = dir.join(rel);
    if rel.split('/').any(|part| part == "..") {
        return (403, TEXT, b"forbidden".to_vec());
    }
    if file.is_dir() {
        file = file.join("index.html");
    }
    match std::fs::read(&file) {
        Ok(bytes) => {
            served.lock().unwrap().insert(path.clone());
            let content_type = match file.extension().and_then(|e| e.to_str()) {
                Some("html") => "text/html; charset=utf-8",
                Some("css") => "text/css; charset=utf-8",
                Some("js") => "text/javascript; charset=utf-8",
                Some("svg") => "image/svg+xml",
                Some("png") => "image/png",
                Some("xml") => "application/xml",
                Some("json") => "application/json",
                Some("txt") => TEXT,
                _ => "application/octet-stream",
            };
            (200, content_type, bytes)
        }
        Err(_) => {
            misses.lock().unwrap().push(path);
            let page = std::fs::read(dir.join("404.html")).unwrap_or_default();
            (404, "text/html; charset=utf-8", page)
        }
    }
}

/// A headless Chromium with a DevTools session on one page.
pub struct Browser {
    child: Child,
    to_browser: File,
    from_browser: Receiver<Value>,
    next_id: u64,
    session: String,
    log: PathBuf,
}

impl Browser {
    pub fn launch(profile: &Path, log: &Path) -> Browser {
        let (to_child_read, to_browser) = pipe();
        let (from_browser, from_child_write) = pipe();
        let mut command = Command::new(CHROMIUM);
        command
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--no-proxy-server",
                "--hide-scrollbars",
                "--mute-audio",
                "--remote-debugging-pipe",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(File::create(log).expect("create the browser log"))
            .stderr(File::create(log).expect("create the browser log"));
        {
            use std::os::fd::AsRawFd;
            use std::os::unix::process::CommandExt;
            let (read_fd, write_fd) = (to_child_read.as_raw_fd(), from_child_write.as_raw_fd());
            // SAFETY: between fork and exec only async-signal-safe calls (fcntl, dup2) run.
            // The DevTools pipe is fd 3 (commands in) and fd 4 (replies out).
            unsafe {
                command.pre_exec(move || {
                    let read_high = libc::fcntl(read_fd, libc::F_DUPFD, 10);
                    let write_high = libc::fcntl(write_fd, libc::F_DUPFD, 10);
                    if read_high < 0
                        || write_high < 0
                        || libc::dup2(read_high, 3) < 0
                        || libc::dup2(write_high, 4) < 0
                    {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        let child = command.spawn().expect("start chromium");
        drop((to_child_read, from_child_write)); // the child's ends
        let (sender, from_browser_rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(from_browser);
            let mut message = Vec::new();
            while matches!(reader.read_until(0, &mut message), Ok(n) if n > 0) {
                if message.last() == Some(&0) {
                    message.pop();
                }
                if let Ok(value) = serde_json::from_slice::<Value>(&message) {
                    if sender.send(value).is_err() {
                        break;
                    }
                }
                message.clear();
            }
        });
        let mut browser = Browser {
            child,
            to_browser,
            from_browser: from_browser_rx,
            next_id: 0,
            session: String::new(),
            log: log.to_path_buf(),
        };
        let target = browser.call_browser("Target.createTarget", json!({"url": "about:blank"}));
        let target_id = target["targetId"]
            .as_str()
            .expect("a target id")
            .to_string();
        let attached = browser.call_browser(
            "Target.attachToTarget",
            json!({"targetId": target_id, "flatten": true}),
        );
        browser.session = attached["sessionId"]
            .as_str()
            .expect("a session id")
            .to_string();
        browser
    }

    /// Panics with the message and the end of the browser's own log.
    pub fn fail(&self, message: &str) -> ! {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(20).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        panic!(
            "{message}\n--- chromium log (last lines)\n{}",
            tail.join("\n")
        );
    }

    fn send(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({"id": id, "method": method, "params": params});
        if let Some(session) = session {
            message["sessionId"] = json!(session);
        }
        let mut bytes = serde_json::to_vec(&message).unwrap();
        bytes.push(0);
        if let Err(e) = self.to_browser.write_all(&bytes) {
            self.fail(&format!("cannot send {method} to chromium: {e}"));
        }
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.from_browser.recv_timeout(left) {
                Ok(reply) if reply["id"] == json!(id) => {
                    if let Some(error) = reply.get("error") {
                        self.fail(&format!("{method} failed: {error}"));
                    }
                    return reply["result"].clone();
                }
                Ok(_event) => {}
                Err(e) => self.fail(&format!("no reply to {method} within {TIMEOUT:?}: {e}")),
            }
        }
    }

    pub fn call_browser(&mut self, method: &str, params: Value) -> Value {
        self.send(None, method, params)
    }

    /// A command to the page.
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        let session = self.session.clone();
        self.send(Some(&session), method, params)
    }

    /// Evaluates JavaScript in the page (the test's probe; the site itself has none).
    pub fn eval(&mut self, expression: &str) -> Value {
        let result = self.call(
            "Runtime.evaluate",
            json!({"expression": expression, "returnByValue": true, "awaitPromise": true}),
        );
        if let Some(exception) = result.get("exceptionDetails") {
            self.fail(&format!("{expression} threw: {exception}"));
        }
        result["result"]["value"].clone()
    }

    pub fn viewport(&mut self, width: u32, height: u32, mobile: bool) {
        self.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}),
        );
    }

    pub fn color_scheme(&mut self, scheme: &str) {
        self.call(
            "Emulation.setEmulatedMedia",
            json!({"features": [{"name": "prefers-color-scheme", "value": scheme}]}),
        );
    }

    /// Navigates and waits for the load event (stylesheets included).
    pub fn open(&mut self, url: &str) {
        self.call("Page.navigate", json!({"url": url}));
        let probe = format!("location.href === {url:?} && document.readyState === 'complete'");
        let deadline = Instant::now() + TIMEOUT;
        while self.eval(&probe) != json!(true) {
            if Instant::now() > deadline {
                let state = self.eval(
                    "[location.href, document.readyState, \
                      [...document.images].filter(i => !i.complete).map(i => i.src), \
                      performance.getEntriesByType('resource').map(r => r.name + ' ' + r.responseEnd)]",
                );
                self.fail(&format!("{url} did not finish loading: {state}"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Polls a JavaScript condition until it is `true`.
    pub fn wait_for(&mut self, condition: &str, what: &str) {
        let deadline = Instant::now() + TIMEOUT;
        while self.eval(condition) != json!(true) {
            if Instant::now() > deadline {
                self.fail(what);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A real left click at viewport coordinates.
    pub fn click(&mut self, x: f64, y: f64) {
        self.call(
            "Input.dispatchMouseEvent",
            json!({"type": "mouseMoved", "x": x, "y": y}),
        );
        for kind in ["mousePressed", "mouseReleased"] {
            self.call(
                "Input.dispatchMouseEvent",
                json!({"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1}),
            );
        }
    }

    /// A PNG of the top `width` x `height` pixels of the page, written to `path`: beyond the
    /// viewport when the page is taller, cut off where it ends when it is shorter.
    pub fn screenshot_top(&mut self, path: &Path, width: u32, height: u32) -> Vec<u8> {
        let page_height = self
            .eval("document.documentElement.scrollHeight")
            .as_f64()
            .unwrap_or(f64::from(height));
        let clip = json!({"x": 0, "y": 0, "width": width, "height": page_height.min(f64::from(height)), "scale": 1});
        let shot = self.call(
            "Page.captureScreenshot",
            json!({"format": "png", "clip": clip, "captureBeyondViewport": true}),
        );
        let png = base64_decode(shot["data"].as_str().expect("screenshot data"));
        std::fs::write(path, &png).expect("write the screenshot");
        png
    }

    /// A PNG of the viewport, written to `path`.
    pub fn screenshot(&mut self, path: &Path) -> Vec<u8> {
        let shot = self.call("Page.captureScreenshot", json!({"format": "png"}));
        let png = base64_decode(shot["data"].as_str().expect("screenshot data"));
        std::fs::write(path, &png).expect("write the screenshot");
        png
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let mut bytes = serde_json::to_vec(&json!({"id": 0, "method": "Browser.close"})).unwrap();
        bytes.push(0);
        let _ = self.to_browser.write_all(&bytes);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A pipe whose ends are closed on exec (the child gets copies at fds 3 and 4 only).
fn pipe() -> (File, File) {
    use std::os::fd::FromRawFd;
    let mut fds = [0; 2];
    // SAFETY: fds is a valid array of two ints for pipe2 to fill.
    let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    assert_eq!(rc, 0, "pipe2: {}", std::io::Error::last_os_error());
    // SAFETY: pipe2 succeeded, so both are open descriptors that we now own.
    unsafe { (File::from_raw_fd(fds[0]), File::from_raw_fd(fds[1])) }
}

pub fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {c}"),
    };
    let digits: Vec<u8> = text
        .bytes()
        .filter(|c| !b"=\r\n".contains(c))
        .map(value)
        .collect();
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    for chunk in digits.chunks(4) {
        let mut n = 0u32;
        for (i, d) in chunk.iter().enumerate() {
            n |= u32::from(*d) << (18 - 6 * i);
        }
        out.extend_from_slice(&n.to_be_bytes()[1..chunk.len()]);
    }
    out
}

/// Width and height from a PNG's IHDR chunk.
pub fn png_size(png: &[u8]) -> (u32, u32) {
    assert!(
        png.len() > 24 && png.starts_with(b"\x89PNG\r\n\x1a\n"),
        "not a PNG"
    );
    assert_eq!(&png[12..16], b"IHDR");
    let word = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().unwrap());
    (word(16), word(20))
}

/// `Some(())` when the browser test can run; a missing browser fails unless skipping is asked.
pub fn browser_available() -> Option<()> {
    if Path::new(CHROMIUM).exists() {
        return Some(());
    }
    if std::env::var("CLINIC_SKIP_BROWSER").as_deref() == Ok("1") {
        eprintln!("note: {CHROMIUM} is missing and CLINIC_SKIP_BROWSER=1: browser test skipped");
        return None;
    }
    panic!(
        "{CHROMIUM} is missing: run `apt-get install chromium` (CI installs it), \
         or set CLINIC_SKIP_BROWSER=1 to skip this test"
    );
}
