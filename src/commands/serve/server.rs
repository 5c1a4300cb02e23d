//! The HTTP side: a fixed pool of workers answering from the current build, with the checks a
//! local preview needs before anything is read from disk.
//!
//! Order of the checks, each with its own status: the `Host` header must name this machine
//! (403; DNS rebinding: a page on `attacker.example` that re-resolves to 127.0.0.1 still sends
//! its own name), a cross-site `Origin` is refused (403), only GET and HEAD are answered (405),
//! and the target must be a plain path inside the base path ([`super::path`]: 400 for escape
//! attempts, 404 for dotfiles and anything outside). No error body names a file-system path.
//! Responses are written by [`super::reply`] (why not by tiny_http is explained there).
//!
//! tiny_http reads requests on its own threads; [`WORKERS`] threads take them from its queue.
//! An event stream leaves the pool at once (see [`super::reload`]), so open tabs never starve
//! page requests.
//!
//! Under `<base_path>__clinic/`: `events` (the reload stream), `reload-worker.js` (the shared
//! worker that lets every tab of a browser use one stream, see [`super::page`]) and `status`
//! (counters and errors as JSON, for tests and scripts).

use std::fs::File;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tiny_http::{Method, Request, Server};

use super::page;
use super::path::{self, Refusal, Resolved};
use super::reload::{Event, MAX_STREAMS};
use super::reply::Reply;
use super::state::{Served, State};

/// Request workers. Page requests are short file reads; event streams do not use a worker.
const WORKERS: usize = 8;
/// Connections being read at once (tiny_http reads each on its own thread); a browser opens
/// six per host. Past this, a connection is answered 503 at once.
const MAX_CONNECTIONS: usize = 128;
/// How long a client may take to send a request, and how long any read or write may block.
const IDLE_TIMEOUT: Duration = Duration::from_secs(10);
/// Overrides [`IDLE_TIMEOUT`] in milliseconds, so that tests need not wait ten seconds.
pub(crate) const IDLE_TIMEOUT_ENV: &str = "CLINIC_SERVE_IDLE_TIMEOUT_MS";

/// What one client may cost: a request head of 64 KiB at most (431 past it), [`IDLE_TIMEOUT`],
/// [`MAX_CONNECTIONS`], and one request per connection: every response says
/// `Connection: close` (see [`super::reply`]), and the connection is closed after it.
pub(super) fn limits() -> tiny_http::Limits {
    let idle_timeout = std::env::var(IDLE_TIMEOUT_ENV)
        .ok()
        .and_then(|ms| ms.parse().ok())
        .map_or(IDLE_TIMEOUT, Duration::from_millis);
    tiny_http::Limits {
        max_head_bytes: 64 * 1024,
        idle_timeout,
        max_connections: MAX_CONNECTIONS,
        keep_alive: false,
    }
}
/// The reserved folder under the base path.
const RESERVED: &str = "__clinic";

/// Starts the workers; they run until the process ends.
pub(super) fn start(server: Arc<Server>, state: Arc<State>) {
    for i in 0..WORKERS {
        let (server, state) = (Arc::clone(&server), Arc::clone(&state));
        let spawned = std::thread::Builder::new()
            .name(format!("clinic-http-{i}"))
            .spawn(move || {
                while let Ok(request) = server.recv() {
                    handle(request, &state);
                }
            });
        if let Err(e) = spawned {
            eprintln!("warning: cannot start an HTTP worker: {e}");
        }
    }
}

fn handle(request: Request, state: &State) {
    let header = |name: &'static str| {
        request
            .headers()
            .iter()
            .find(|h| h.field.equiv(name))
            .map(|h| h.value.as_str().to_string())
    };
    if !header("Host").is_some_and(|host| host_allowed(state, &host)) {
        let message =
            "Forbidden: the Host header must name this machine (localhost or 127.0.0.1).\n";
        return Reply::text(403, message).send(request);
    }
    if header("Origin").is_some_and(|origin| !origin_allowed(state, &origin)) {
        return Reply::text(403, "Forbidden: cross-site request.\n").send(request);
    }
    if !matches!(request.method(), Method::Get | Method::Head) {
        let message = "Method Not Allowed: this preview answers GET and HEAD only.\n";
        return Reply::text(405, message)
            .with_header("Allow", "GET, HEAD")
            .send(request);
    }
    let raw = request.url().to_string();
    let target = match path::parse_target(&raw) {
        Ok(target) => target,
        Err(Refusal::BadRequest) => {
            return Reply::text(400, "Bad Request: this path is refused.\n").send(request)
        }
        Err(Refusal::NotFound) => return not_found(state, &state.current()).send(request),
    };
    let base = path::base_segments(&state.base_path);
    let Some(rest) = path::strip_base(&target, &base) else {
        if target.segments.is_empty() || target.segments == base {
            return Reply::redirect(&state.base_path).send(request);
        }
        let message = format!("Not Found: the site is served under {}\n", state.base_path);
        return Reply::text(404, &message).send(request);
    };
    match rest {
        [reserved, name] if reserved == RESERVED => match name.as_str() {
            "events" => events(request, state),
            "reload-worker.js" => {
                Reply::bytes(200, "text/javascript; charset=utf-8", page::WORKER).send(request)
            }
            "status" => Reply::bytes(200, "application/json", state.status_json()).send(request),
            _ => Reply::text(404, "Not Found\n").send(request),
        },
        _ => serve_site(state, rest, target.trailing_slash, &raw).send(request),
    }
}

/// A page or asset of the current build.
fn serve_site(state: &State, names: &[String], trailing_slash: bool, raw: &str) -> Reply {
    let served = state.current();
    let Some(site) = &served.site else {
        let overlay = served.overlay.as_deref().unwrap_or("");
        let html = page::error_page(&state.base_path, served.generation, overlay);
        return Reply::html(503, html);
    };
    match path::resolve_file(site.path(), site.canonical(), names, trailing_slash) {
        Resolved::File(file) => file_reply(state, &served, &file, 200),
        Resolved::AddSlash => {
            let path = raw.split(['?', '#']).next().unwrap_or(raw);
            Reply::redirect(&format!("{path}/"))
        }
        Resolved::NotFound => not_found(state, &served),
    }
}

/// The site's own `404.html` (with the reload script, so a page that appears later shows up),
/// or a plain message when the build has none.
fn not_found(state: &State, served: &Served) -> Reply {
    if let Some(site) = &served.site {
        let names = ["404.html".to_string()];
        if let Resolved::File(file) =
            path::resolve_file(site.path(), site.canonical(), &names, false)
        {
            return file_reply(state, served, &file, 404);
        }
    }
    Reply::text(404, "Not Found\n")
}

/// A file of the build; HTML pages get the reload script (and the overlay) on the way out.
fn file_reply(state: &State, served: &Served, file: &Path, status: u16) -> Reply {
    let content_type = content_type(file);
    if content_type.starts_with("text/html") {
        return match std::fs::read_to_string(file) {
            Ok(html) => {
                let overlay = served.overlay.as_deref();
                let html = page::inject(&html, &state.base_path, served.generation, overlay);
                Reply::html(status, html)
            }
            Err(_) => Reply::text(404, "Not Found\n"),
        };
    }
    match File::open(file).and_then(|f| Reply::file(status, content_type, f)) {
        Ok(reply) => reply,
        Err(_) => Reply::text(404, "Not Found\n"),
    }
}

/// `GET <base>__clinic/events`: a server-sent event stream that starts with `hello` and the
/// current generation, so a page that loaded before a rebuild and connects after it learns
/// that it is out of date.
fn events(request: Request, state: &State) {
    if *request.method() == Method::Head {
        return Reply::bytes(200, "text/event-stream", "").send(request);
    }
    if state.hub.open() >= MAX_STREAMS {
        let message = "Service Unavailable: too many open reload streams.\n";
        return Reply::text(503, message).send(request);
    }
    let hello = || Event::Hello {
        generation: state.current().generation,
    };
    state.hub.attach(request.into_writer(), hello);
}

/// `localhost`, `127.0.0.1`, `[::1]` or the bound address, with any port. When bound to every
/// interface, any IP literal is this machine's (DNS rebinding needs a name, never a literal).
fn host_allowed(state: &State, host: &str) -> bool {
    let name = strip_port(host.trim()).to_ascii_lowercase();
    matches!(name.as_str(), "localhost" | "127.0.0.1" | "[::1]")
        || name == state.bound_host
        || (state.bound_unspecified && is_ip_literal(&name))
}

/// `Origin: http://localhost:8000` passes the same test as the Host; `null` (sandboxed or
/// file pages) and other sites do not.
fn origin_allowed(state: &State, origin: &str) -> bool {
    let Some(rest) = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
    else {
        return false;
    };
    !rest.contains('/') && host_allowed(state, rest)
}

fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host.find(']').map_or(host, |end| &host[..=end]);
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

fn is_ip_literal(name: &str) -> bool {
    let inner = name
        .strip_prefix('[')
        .and_then(|n| n.strip_suffix(']'))
        .unwrap_or(name);
    inner.parse::<std::net::IpAddr>().is_ok()
}

fn content_type(file: &Path) -> &'static str {
    let ext = file
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "xml" => "application/xml",
        "svg" => "image/svg+xml",
        "txt" | "md" => "text/plain; charset=utf-8",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "ico" => "image/x-icon",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "pdf" => "application/pdf",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(bound: &str, unspecified: bool) -> State {
        State::new("/".to_string(), bound.to_string(), unspecified)
    }

    #[test]
    fn hosts() {
        let s = state("127.0.0.1", false);
        for ok in [
            "localhost",
            "localhost:8000",
            "127.0.0.1:1",
            "[::1]:80",
            "LOCALHOST",
        ] {
            assert!(host_allowed(&s, ok), "{ok}");
        }
        for bad in [
            "attacker.example",
            "attacker.example:8000",
            "localhost.attacker.example",
            "127.0.0.2",
            "",
            "[::2]",
        ] {
            assert!(!host_allowed(&s, bad), "{bad}");
        }
        let lan = state("192.168.1.5", false);
        assert!(host_allowed(&lan, "192.168.1.5:8000"));
        let any = state("0.0.0.0", true);
        assert!(host_allowed(&any, "10.0.0.7:8000"));
        assert!(!host_allowed(&any, "evil.example"));
    }

    #[test]
    fn origins() {
        let s = state("127.0.0.1", false);
        assert!(origin_allowed(&s, "http://127.0.0.1:8000"));
        assert!(!origin_allowed(&s, "null"));
        assert!(!origin_allowed(&s, "https://attacker.example"));
        assert!(!origin_allowed(&s, "http://localhost:8000/x"));
    }
}
