//! The built handbook in a real browser: Debian's headless `chromium`, driven over the Chrome
//! DevTools Protocol on a pipe (`--remote-debugging-pipe`: fds 3 and 4, NUL-separated JSON), with
//! the site served from the output by a small static server in this test. It checks computed
//! styles (the stylesheet applied, light and dark, wide and narrow), that a self-check card opens
//! on a real mouse click without JavaScript, and takes screenshots into the test's temp dir.

mod common;

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const CHROMIUM: &str = "/usr/bin/chromium";
const TIMEOUT: Duration = Duration::from_secs(30);

/// Serves a directory over HTTP on 127.0.0.1 (GET and HEAD only, `index.html` for folders),
/// recording the paths it could not serve.
struct StaticServer {
    server: Arc<tiny_http::Server>,
    thread: Option<JoinHandle<()>>,
    port: u16,
    misses: Arc<Mutex<Vec<String>>>,
    served: Arc<Mutex<BTreeSet<String>>>,
}

impl StaticServer {
    fn start(dir: PathBuf) -> StaticServer {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind 127.0.0.1:0"));
        let port = server.server_addr().to_ip().expect("an IP address").port();
        let misses = Arc::new(Mutex::new(Vec::new()));
        let served = Arc::new(Mutex::new(BTreeSet::new()));
        let thread = {
            let (server, misses, served) = (server.clone(), misses.clone(), served.clone());
            std::thread::spawn(move || {
                for request in server.incoming_requests() {
                    let response = respond(&dir, request.method(), request.url(), &misses, &served);
                    let _ = request.respond(response);
                }
            })
        };
        StaticServer {
            server,
            thread: Some(thread),
            port,
            misses,
            served,
        }
    }
}

impl Drop for StaticServer {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn respond(
    dir: &Path,
    method: &tiny_http::Method,
    url: &str,
    misses: &Mutex<Vec<String>>,
    served: &Mutex<BTreeSet<String>>,
) -> tiny_http::Response<std::io::Cursor<Vec<u8>>> {
    let header = |value: &str| {
        tiny_http::Header::from_bytes(&b"Content-Type"[..], value.as_bytes()).expect("a header")
    };
    if !matches!(method, tiny_http::Method::Get | tiny_http::Method::Head) {
        return tiny_http::Response::from_string("method not allowed").with_status_code(405);
    }
    let path = common::percent_decode(url.split(['?', '#']).next().unwrap_or("/"));
    let rel = path.trim_start_matches('/');
    let mut file = dir.join(rel);
    if rel.split('/').any(|part| part == "..") {
        return tiny_http::Response::from_string("forbidden").with_status_code(403);
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
                Some("svg") => "image/svg+xml",
                Some("png") => "image/png",
                Some("xml") => "application/xml",
                Some("txt") => "text/plain; charset=utf-8",
                _ => "application/octet-stream",
            };
            tiny_http::Response::from_data(bytes).with_header(header(content_type))
        }
        Err(_) => {
            misses.lock().unwrap().push(path);
            let page = std::fs::read(dir.join("404.html")).unwrap_or_default();
            tiny_http::Response::from_data(page)
                .with_header(header("text/html; charset=utf-8"))
                .with_status_code(404)
        }
    }
}

/// A headless Chromium with a DevTools session on one page.
struct Browser {
    child: Child,
    to_browser: File,
    from_browser: Receiver<Value>,
    next_id: u64,
    session: String,
    log: PathBuf,
}

impl Browser {
    fn launch(profile: &Path, log: &Path) -> Browser {
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
    fn fail(&self, message: &str) -> ! {
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

    fn call_browser(&mut self, method: &str, params: Value) -> Value {
        self.send(None, method, params)
    }

    /// A command to the page.
    fn call(&mut self, method: &str, params: Value) -> Value {
        let session = self.session.clone();
        self.send(Some(&session), method, params)
    }

    /// Evaluates JavaScript in the page (the test's probe; the site itself has none).
    fn eval(&mut self, expression: &str) -> Value {
        let result = self.call(
            "Runtime.evaluate",
            json!({"expression": expression, "returnByValue": true, "awaitPromise": true}),
        );
        if let Some(exception) = result.get("exceptionDetails") {
            self.fail(&format!("{expression} threw: {exception}"));
        }
        result["result"]["value"].clone()
    }

    fn viewport(&mut self, width: u32, height: u32, mobile: bool) {
        self.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}),
        );
    }

    fn color_scheme(&mut self, scheme: &str) {
        self.call(
            "Emulation.setEmulatedMedia",
            json!({"features": [{"name": "prefers-color-scheme", "value": scheme}]}),
        );
    }

    /// Navigates and waits for the load event (stylesheets included).
    fn open(&mut self, url: &str) {
        self.call("Page.navigate", json!({"url": url}));
        let probe = format!("location.href === {url:?} && document.readyState === 'complete'");
        self.wait_for(&probe, &format!("{url} did not finish loading"));
    }

    /// Polls a JavaScript condition until it is `true`.
    fn wait_for(&mut self, condition: &str, what: &str) {
        let deadline = Instant::now() + TIMEOUT;
        while self.eval(condition) != json!(true) {
            if Instant::now() > deadline {
                self.fail(what);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A real left click at viewport coordinates.
    fn click(&mut self, x: f64, y: f64) {
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

    /// A PNG of the viewport, written to `path`.
    fn screenshot(&mut self, path: &Path) -> Vec<u8> {
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

fn base64_decode(text: &str) -> Vec<u8> {
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
fn png_size(png: &[u8]) -> (u32, u32) {
    assert!(
        png.len() > 24 && png.starts_with(b"\x89PNG\r\n\x1a\n"),
        "not a PNG"
    );
    assert_eq!(&png[12..16], b"IHDR");
    let word = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().unwrap());
    (word(16), word(20))
}

/// `Some(())` when the browser test can run; a missing browser fails unless skipping is asked.
fn browser_available() -> Option<()> {
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

#[test]
fn the_handbook_is_styled_and_a_self_check_card_opens_in_chromium() {
    if browser_available().is_none() {
        return;
    }
    let site = common::empty_site();
    let out = site.tmp.path().join("out");
    let server = StaticServer::start(out.clone());
    let base = format!("http://127.0.0.1:{}/", server.port);
    common::build_into(&site.root, &out, &["--base-url", &base]).expect_code(0);
    let page = format!("{base}self-check/");

    let mut browser = Browser::launch(
        &site.tmp.path().join("profile"),
        &site.tmp.path().join("chromium.log"),
    );
    browser.viewport(1280, 900, false);
    browser.color_scheme("light");
    browser.open(&page);

    // Nothing on the page needs JavaScript.
    assert_eq!(browser.eval("document.scripts.length"), json!(0));
    // The stylesheet was fetched and parsed...
    let rules = browser.eval(
        "[...document.styleSheets].filter(s => s.href && s.href.endsWith('/static/style.css'))\
         .map(s => s.cssRules.length)[0] || 0",
    );
    assert!(
        rules.as_u64().unwrap_or(0) > 50,
        "style.css has {rules} rules in the page"
    );
    // ...and applied: computed styles, not the file's presence.
    let styles = browser.eval(
        "(() => {
            const style = (selector) => getComputedStyle(document.querySelector(selector));
            return {
                font: style('body').fontFamily,
                background: style('body').backgroundColor,
                layout: style('.layout').display,
                mainMaxWidth: style('main.main').maxWidth,
                menu: style('.nav-menu').display,
                sidebar: style('.nav-sidebar').display,
                cardBorder: style('details.card').borderLeftWidth,
                skipLink: style('.skip-link').position,
            };
        })()",
    );
    assert!(
        styles["font"].as_str().unwrap_or("").contains("system-ui"),
        "{styles}"
    );
    assert_eq!(styles["background"], "rgb(255, 255, 255)", "{styles}");
    assert_eq!(styles["layout"], "grid", "{styles}");
    assert!(
        styles["mainMaxWidth"]
            .as_str()
            .unwrap_or("")
            .ends_with("px"),
        "{styles}"
    );
    assert_eq!(
        styles["menu"], "none",
        "wide screens show the sidebar, not the menu: {styles}"
    );
    assert_eq!(styles["sidebar"], "block", "{styles}");
    assert_eq!(styles["cardBorder"], "4px", "{styles}");
    assert_eq!(styles["skipLink"], "absolute", "{styles}");

    // A self-check card opens on a real click, with no script in the page.
    let card = browser.eval(
        "(() => {
            const card = document.querySelector('details.card');
            card.scrollIntoView({block: 'center'});
            const box = card.querySelector('summary').getBoundingClientRect();
            const answer = card.querySelector(':scope > :not(summary)');
            return {
                count: document.querySelectorAll('details.card').length,
                open: card.open,
                answerVisible: answer.checkVisibility(),
                x: box.left + box.width / 2,
                y: box.top + box.height / 2,
            };
        })()",
    );
    assert!(card["count"].as_u64().unwrap_or(0) >= 5, "{card}");
    assert_eq!(card["open"], false, "the card starts closed: {card}");
    assert_eq!(
        card["answerVisible"], false,
        "a closed card hides its answer: {card}"
    );
    let closed = browser.screenshot(&site.tmp.path().join("self-check-closed.png"));
    browser.click(card["x"].as_f64().unwrap(), card["y"].as_f64().unwrap());
    browser.wait_for(
        "document.querySelector('details.card').open === true",
        "the card did not open",
    );
    let answer = browser.eval(
        "(() => {
            const answer = document.querySelector('details.card > :not(summary)');
            return [answer.checkVisibility(), answer.getBoundingClientRect().height];
        })()",
    );
    assert_eq!(answer[0], true, "the answer is not shown: {answer}");
    assert!(
        answer[1].as_f64().unwrap_or(0.0) > 10.0,
        "the answer is not shown: {answer}"
    );

    let shot_path = site.tmp.path().join("self-check.png");
    let open = browser.screenshot(&shot_path);
    assert_eq!(png_size(&open), (1280, 900));
    assert!(
        std::fs::metadata(&shot_path).unwrap().len() > 10_000,
        "a trivial screenshot"
    );
    assert_ne!(open, closed, "opening the card changed nothing on screen");

    // Dark mode follows prefers-color-scheme.
    browser.color_scheme("dark");
    let dark = browser.eval("getComputedStyle(document.body).backgroundColor");
    assert_eq!(dark, "rgb(13, 17, 23)");
    let dark_shot = browser.screenshot(&site.tmp.path().join("self-check-dark.png"));
    assert_ne!(dark_shot, open);

    // Narrow screens get the "Menu" disclosure instead of the sidebar.
    browser.color_scheme("light");
    browser.viewport(390, 844, true);
    let narrow = browser.eval(
        "[getComputedStyle(document.querySelector('.nav-menu')).display, \
          getComputedStyle(document.querySelector('.nav-sidebar')).display, \
          document.documentElement.scrollWidth <= window.innerWidth]",
    );
    assert_eq!(narrow, json!(["block", "none", true]), "at 390px wide");

    drop(browser);
    // CLINIC_SCREENSHOT_DIR=DIR keeps the screenshots for a person to look at.
    if let Some(keep) = std::env::var_os("CLINIC_SCREENSHOT_DIR") {
        std::fs::create_dir_all(&keep).unwrap();
        for name in [
            "self-check-closed.png",
            "self-check.png",
            "self-check-dark.png",
        ] {
            std::fs::copy(site.tmp.path().join(name), Path::new(&keep).join(name)).unwrap();
        }
    }
    let misses: Vec<String> = server
        .misses
        .lock()
        .unwrap()
        .iter()
        .filter(|p| p.as_str() != "/favicon.ico")
        .cloned()
        .collect();
    assert!(
        misses.is_empty(),
        "the browser asked for missing files: {misses:?}"
    );
    let served = server.served.lock().unwrap().clone();
    for needed in [
        "/self-check/",
        "/static/style.css",
        "/static/syntax-light.css",
    ] {
        assert!(
            served.contains(needed),
            "{needed} was never served: {served:?}"
        );
    }
}

#[test]
fn base64_and_png_helpers() {
    assert_eq!(base64_decode("aGVsbG8="), b"hello");
    assert_eq!(base64_decode("aGk="), b"hi");
    assert_eq!(base64_decode("YWJj"), b"abc");
}
