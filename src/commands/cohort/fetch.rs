//! `evidence:` students: their `evidence.json`, read from a file or fetched over http(s) with a
//! time limit and a size cap, then checked against the stable core of the format
//! (`badges.{rehearsal,migration,smoke,flag}.{state,reasons,artifacts}` and, optionally,
//! `repository.{head,commits,shallow,releases}`). Anything else in the document is ignored.
//! Every string kept is cleaned of control and bidi characters and cut to a bounded length;
//! the dashboard escapes it like any other student text.
//!
//! Redirects are followed by hand, at most [`MAX_REDIRECTS`], and only when they stay where the
//! roster pointed: the same host (and port, or https's own port when http is upgraded), never
//! from https down to http, never to another scheme. The roster's own host is trusted as
//! written, loopback and private literals included (an instructor may serve evidence locally).
//! Anything a redirect leads to must also be a public address: an IP literal is checked
//! directly, and a name is resolved by a resolver that drops loopback, private, link-local and
//! other internal addresses, so the address checked is the address connected to (a name that
//! re-resolves to `169.254.169.254` between the check and the connection still cannot reach
//! it). With an HTTP proxy that resolves names itself, only the literal checks apply.

use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::time::{Duration, Instant};

use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};

use serde_json::Value;

use super::dashboard::{BadgeCell, LastCommit};
use super::roster::Location;
use crate::evidence::State;

/// An `evidence.json` larger than this is refused without reading the rest.
pub(crate) const MAX_EVIDENCE_BYTES: u64 = 4 * 1024 * 1024;
/// Per badge, at most this many reasons and artifacts are kept.
const MAX_LIST: usize = 200;
/// Longest string kept from a document, in characters.
pub(crate) const MAX_TEXT: usize = 2000;
/// Redirects followed (GitHub Pages redirects a missing trailing slash, for instance).
const MAX_REDIRECTS: u32 = 3;

pub(crate) const BADGE_KEYS: [&str; 4] = ["rehearsal", "migration", "smoke", "flag"];

/// What the dashboard needs from an `evidence.json`.
#[derive(Debug, Clone)]
pub(crate) struct Fetched {
    pub badges: Vec<BadgeCell>,
    pub releases: Option<usize>,
    pub last_commit: Option<LastCommit>,
    pub shallow: bool,
}

/// The http(s) client of one cohort build: one connection pool, one time limit per document.
pub(crate) struct Fetcher {
    /// For the roster's own URLs, and redirects back to a roster host trusted as written.
    agent: ureq::Agent,
    /// For every other redirect: connects to public addresses only.
    guarded: ureq::Agent,
    timeout: Duration,
}

/// Why a redirect was not followed (carried through ureq's error by the guarded resolver).
#[derive(Debug)]
struct Refused(String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

impl Fetcher {
    pub(crate) fn new(timeout: Duration) -> Fetcher {
        let config = || {
            ureq::Agent::config_builder()
                .timeout_global(Some(timeout))
                // Followed by hand, see the module's documentation.
                .max_redirects(0)
                .http_status_as_error(false)
                .user_agent(format!("clinic-cohort/{}", env!("CARGO_PKG_VERSION")))
                .build()
        };
        let agent = config().into();
        let guarded = ureq::Agent::with_parts(config(), DefaultConnector::new(), PublicOnly);
        Fetcher {
            agent,
            guarded,
            timeout,
        }
    }

    /// The document's bytes, or why there are none.
    pub(crate) fn get(&self, location: &Location) -> Result<Vec<u8>, String> {
        match location {
            Location::File { path, written } => read_file(path, written),
            Location::Url(url) => self.get_url(url),
        }
    }

    fn get_url(&self, url: &str) -> Result<Vec<u8>, String> {
        let started = Instant::now();
        let origin: Uri = url
            .parse()
            .map_err(|e| format!("cannot fetch the evidence URL: {e}"))?;
        let trusted = trusted_as_written(&origin);
        let (mut current, mut current_text) = (origin.clone(), url.to_string());
        let mut hops = 0;
        let mut response = loop {
            // One time limit for the document, redirects included.
            let left = self.timeout.saturating_sub(started.elapsed());
            if left.is_zero() {
                return Err(self.describe(&ureq::Error::Timeout(ureq::Timeout::Global)));
            }
            let agent = if hops == 0 || trusted {
                &self.agent
            } else {
                &self.guarded
            };
            let response = agent
                .get(&current_text)
                .config()
                .timeout_global(Some(left))
                .build()
                .call()
                .map_err(|e| self.describe(&e))?;
            let status = response.status().as_u16();
            if !matches!(status, 301 | 302 | 303 | 307 | 308) {
                break response;
            }
            if hops == MAX_REDIRECTS {
                return Err(self.describe(&ureq::Error::TooManyRedirects));
            }
            hops += 1;
            let location = response
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| {
                    format!("the server answered HTTP {status} for the evidence URL with no usable Location")
                })?;
            let next = resolve_location(&current, location)
                .and_then(|next| check_redirect(&origin, &current, next, trusted))
                .map_err(|why| format!("refused to follow the evidence URL's redirect: {why}"))?;
            current_text = next.to_string();
            current = next;
        };
        let status = response.status();
        if status.as_u16() != 200 {
            return Err(format!(
                "the server answered HTTP {} for the evidence URL",
                status.as_u16()
            ));
        }
        let declared = response
            .headers()
            .get("content-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if let Some(length) = declared.filter(|&l| l > MAX_EVIDENCE_BYTES) {
            return Err(too_big(length));
        }
        response
            .body_mut()
            .with_config()
            .limit(MAX_EVIDENCE_BYTES)
            .read_to_vec()
            .map_err(|e| self.describe(&e))
    }

    fn describe(&self, error: &ureq::Error) -> String {
        match error {
            ureq::Error::Timeout(_) => format!(
                "the evidence URL did not answer within {} s",
                self.timeout.as_secs_f64()
            ),
            ureq::Error::BodyExceedsLimit(_) => too_big_unknown(),
            ureq::Error::TooManyRedirects => {
                format!("the evidence URL redirected more than {MAX_REDIRECTS} times")
            }
            ureq::Error::Other(e) if e.downcast_ref::<Refused>().is_some() => {
                format!("refused to follow the evidence URL's redirect: {e}")
            }
            ureq::Error::Io(e) if e.kind() == std::io::ErrorKind::TimedOut => format!(
                "the evidence URL did not answer within {} s",
                self.timeout.as_secs_f64()
            ),
            ureq::Error::Io(e) => format!("cannot fetch the evidence URL: {e}"),
            other => format!("cannot fetch the evidence URL: {other}"),
        }
    }
}

/// The roster's own host may be reached as written, even when it is this machine or a private
/// address: a loopback or private IP literal, or `localhost`. (A name is resolved as usual
/// for the roster's URL, and redirects to it go through [`PublicOnly`].)
fn trusted_as_written(origin: &Uri) -> bool {
    let host = host_of(origin);
    host == "localhost" || host.ends_with(".localhost") || ip_literal(&host).is_some()
}

/// The host of `uri`, lower-case, without IPv6 brackets or a final dot.
fn host_of(uri: &Uri) -> String {
    let host = uri.host().unwrap_or("").to_ascii_lowercase();
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(&host);
    host.strip_suffix('.').unwrap_or(host).to_string()
}

fn ip_literal(host: &str) -> Option<IpAddr> {
    host.parse().ok()
}

fn port_of(uri: &Uri) -> Option<u16> {
    uri.port_u16().or(match uri.scheme_str() {
        Some("http") => Some(80),
        Some("https") => Some(443),
        _ => None,
    })
}

/// A `Location` value made absolute against the URL that answered with it (RFC 3986, section
/// 5: absolute, scheme-relative `//host/...`, absolute path, or relative path), fragment
/// dropped.
fn resolve_location(base: &Uri, location: &str) -> Result<Uri, String> {
    let location = location.trim();
    let location = location.split('#').next().unwrap_or("");
    if location.is_empty() {
        return Err("the Location is empty".to_string());
    }
    if location
        .chars()
        .any(|c| c.is_control() || c == ' ' || c == '\\')
    {
        return Err("the Location holds spaces, backslashes or control characters".to_string());
    }
    let scheme = base.scheme_str().unwrap_or("https");
    let authority = base.authority().map(|a| a.as_str()).unwrap_or("");
    let absolute = if let Some(colon) = location.find(':').filter(|&at| {
        let name = &location[..at];
        !name.is_empty()
            && name.starts_with(|c: char| c.is_ascii_alphabetic())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    }) {
        let name = location[..colon].to_ascii_lowercase();
        if name != "http" && name != "https" {
            return Err(format!("it leads to a `{name}:` URL, not http(s)"));
        }
        format!("{name}{}", &location[colon..])
    } else if location.starts_with("//") {
        format!("{scheme}:{location}")
    } else {
        let (base_path, _) = base
            .path_and_query()
            .map(|p| (p.path(), p.query()))
            .unwrap_or(("/", None));
        let joined = if location.starts_with('/') {
            location.to_string()
        } else if location.starts_with('?') {
            format!("{base_path}{location}")
        } else {
            let dir = &base_path[..base_path.rfind('/').map_or(0, |at| at + 1)];
            format!("{}{location}", if dir.is_empty() { "/" } else { dir })
        };
        format!("{scheme}://{authority}{}", remove_dot_segments(&joined))
    };
    let uri: Uri = absolute
        .parse()
        .map_err(|_| "the Location is not a valid URL".to_string())?;
    if uri.host().is_none_or(str::is_empty) {
        return Err("the Location names no host".to_string());
    }
    Ok(uri)
}

/// `/a/b/../c/./d?q` -> `/a/c/d?q`.
fn remove_dot_segments(path_and_query: &str) -> String {
    let (path, query) = match path_and_query.find('?') {
        Some(at) => path_and_query.split_at(at),
        None => (path_and_query, ""),
    };
    let mut out: Vec<&str> = Vec::new();
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    for (i, segment) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        match *segment {
            "." => {
                if last {
                    out.push("");
                }
            }
            ".." => {
                out.pop();
                if last {
                    out.push("");
                }
            }
            other => out.push(other),
        }
    }
    format!("/{}{query}", out.join("/"))
}

/// Whether a redirect from `from` to `to` may be followed, for a document whose roster URL is
/// `origin`.
fn check_redirect(origin: &Uri, from: &Uri, to: Uri, trusted: bool) -> Result<Uri, String> {
    let (from_scheme, to_scheme) = (
        from.scheme_str().unwrap_or(""),
        to.scheme_str().unwrap_or(""),
    );
    if to_scheme != "https" && to_scheme != "http" {
        return Err(format!("it leads to a `{to_scheme}:` URL, not http(s)"));
    }
    if to_scheme == "http" && (from_scheme == "https" || origin.scheme_str() == Some("https")) {
        return Err("it leads from https down to plain http".to_string());
    }
    if to.authority().is_some_and(|a| a.as_str().contains('@')) {
        return Err("it leads to a URL with a user name".to_string());
    }
    let (origin_host, to_host) = (host_of(origin), host_of(&to));
    if to_host != origin_host {
        return Err(format!(
            "it leads to another host ({to_host}, not {origin_host})"
        ));
    }
    let same_port = port_of(&to) == port_of(origin);
    let upgraded = to_scheme == "https" && port_of(&to) == Some(443);
    if !same_port && !upgraded {
        return Err(format!(
            "it leads to another port of {to_host} ({})",
            port_of(&to).map_or("?".to_string(), |p| p.to_string())
        ));
    }
    if let Some(ip) = ip_literal(&to_host) {
        if !trusted && is_internal(ip) {
            return Err(format!("it leads to the internal address {ip}"));
        }
    }
    Ok(to)
}

/// Addresses a redirect must never reach: this machine (loopback, unspecified), private
/// networks (RFC 1918, carrier-grade NAT 100.64/10, unique local fc00::/7, site-local
/// fec0::/10), link-local (169.254/16, where cloud metadata services answer, and fe80::/10),
/// multicast, broadcast and the other special-purpose IPv4 blocks; IPv4 addresses embedded in
/// IPv6 (mapped, compatible, NAT64, 6to4) are judged as the IPv4 address they carry.
pub(crate) fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => is_internal_v4(ip),
        IpAddr::V6(ip) => is_internal_v6(ip),
    }
}

fn is_internal_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0 // "this network"
        || a >= 240 // reserved
        || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT (and some metadata services)
        || (a == 192 && b == 0 && ip.octets()[2] == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
}

fn is_internal_v6(ip: Ipv6Addr) -> bool {
    let segments = ip.segments();
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_internal_v4(v4);
    }
    // IPv4-compatible (deprecated) `::a.b.c.d`, and `::`, `::1`.
    if segments[..6].iter().all(|&s| s == 0) {
        return ip.is_unspecified()
            || ip.is_loopback()
            || is_internal_v4(embedded_v4(segments[6], segments[7]));
    }
    // NAT64 `64:ff9b::/96`.
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return is_internal_v4(embedded_v4(segments[6], segments[7]));
    }
    // 6to4 `2002:a.b.c.d::/16`.
    if segments[0] == 0x2002 {
        return is_internal_v4(embedded_v4(segments[1], segments[2]));
    }
    let first = segments[0];
    ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (first & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (first & 0xffc0) == 0xfec0 // site-local fec0::/10 (deprecated)
        || (first == 0x2001 && segments[1] == 0x0db8) // documentation
}

fn embedded_v4(high: u16, low: u16) -> Ipv4Addr {
    let [a, b] = high.to_be_bytes();
    let [c, d] = low.to_be_bytes();
    Ipv4Addr::new(a, b, c, d)
}

/// The resolver of redirects: the system's answer without internal addresses; none left is an
/// error that says so.
#[derive(Debug)]
struct PublicOnly;

impl Resolver for PublicOnly {
    fn resolve(
        &self,
        uri: &Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let all = DefaultResolver::default().resolve(uri, config, timeout)?;
        let mut public = self.empty();
        let mut refused = None;
        for address in all.iter() {
            if is_internal(address.ip()) {
                refused = Some(address.ip());
            } else {
                public.push(*address);
            }
        }
        if public.is_empty() {
            let host = uri.host().unwrap_or("");
            let why = match refused {
                Some(ip) => format!("{host} resolves to the internal address {ip}"),
                None => format!("{host} resolves to no address"),
            };
            return Err(ureq::Error::Other(Box::new(Refused(why))));
        }
        Ok(public)
    }
}

fn too_big(length: u64) -> String {
    format!(
        "the evidence document is {} KiB, over the {} KiB limit",
        length / 1024,
        MAX_EVIDENCE_BYTES / 1024
    )
}

fn too_big_unknown() -> String {
    format!(
        "the evidence document is over the {} KiB limit",
        MAX_EVIDENCE_BYTES / 1024
    )
}

fn read_file(path: &Path, written: &str) -> Result<Vec<u8>, String> {
    let not_regular = |metadata: &std::fs::Metadata| {
        crate::load::frontmatter::non_regular_kind(metadata)
            .map(|kind| format!("the evidence file `{written}` is {kind}, not a regular file"))
    };
    // Checked before opening: opening a named pipe waits for a writer, forever.
    let metadata = std::fs::metadata(path)
        .map_err(|e| format!("cannot read the evidence file `{written}`: {e}"))?;
    if let Some(reason) = not_regular(&metadata) {
        return Err(reason);
    }
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Never blocks, even if the file was swapped for a pipe since the check above.
        options.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
    }
    let file = options
        .open(path)
        .map_err(|e| format!("cannot read the evidence file `{written}`: {e}"))?;
    let metadata = file
        .metadata()
        .map_err(|e| format!("cannot read the evidence file `{written}`: {e}"))?;
    if let Some(reason) = not_regular(&metadata) {
        return Err(reason);
    }
    if metadata.len() > MAX_EVIDENCE_BYTES {
        return Err(too_big(metadata.len()));
    }
    let mut bytes = Vec::new();
    file.take(MAX_EVIDENCE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read the evidence file `{written}`: {e}"))?;
    if bytes.len() as u64 > MAX_EVIDENCE_BYTES {
        return Err(too_big_unknown());
    }
    Ok(bytes)
}

/// Checks a document against the stable core of `evidence.json`. The error names the first
/// field that is wrong.
pub(crate) fn parse(bytes: &[u8]) -> Result<Fetched, String> {
    // serde_json refuses nesting deeper than 128 levels, so a deep document fails fast.
    let document: Value = serde_json::from_slice(bytes)
        .map_err(|e| format!("the evidence document is not valid JSON: {e}"))?;
    let root = document
        .as_object()
        .ok_or("the evidence document is not a JSON object")?;
    let badges = root
        .get("badges")
        .and_then(Value::as_object)
        .ok_or("the evidence document has no `badges` object")?;
    let mut cells = Vec::with_capacity(4);
    for key in BADGE_KEYS {
        let badge = badges
            .get(key)
            .and_then(Value::as_object)
            .ok_or_else(|| format!("`badges.{key}` is missing or not an object"))?;
        let state = match badge.get("state").and_then(Value::as_str) {
            Some("verified") => State::Verified,
            Some("incomplete") => State::Incomplete,
            Some("missing") => State::Missing,
            _ => {
                return Err(format!(
                    "`badges.{key}.state` is not one of verified, incomplete, missing"
                ))
            }
        };
        let reasons = strings(badge.get("reasons"), &format!("badges.{key}.reasons"))?;
        let artifacts = strings(badge.get("artifacts"), &format!("badges.{key}.artifacts"))?;
        cells.push(BadgeCell {
            key,
            state,
            reasons,
            artifacts,
        });
    }
    let mut fetched = Fetched {
        badges: cells,
        releases: None,
        last_commit: None,
        shallow: false,
    };
    if let Some(repository) = root.get("repository").filter(|v| !v.is_null()) {
        let repository = repository
            .as_object()
            .ok_or("`repository` is not an object")?;
        match repository.get("releases") {
            None | Some(Value::Null) => {}
            Some(Value::Array(list)) => fetched.releases = Some(list.len()),
            Some(_) => return Err("`repository.releases` is not a list".to_string()),
        }
        match repository.get("head") {
            None | Some(Value::Null) => {}
            Some(Value::String(head))
                if head.len() >= 7
                    && head.len() <= 64
                    && head.bytes().all(|b| b.is_ascii_hexdigit()) =>
            {
                fetched.last_commit = Some(LastCommit {
                    id: head.to_ascii_lowercase(),
                    short: head[..7].to_ascii_lowercase(),
                    summary: String::new(),
                    date: String::new(),
                    time: None,
                    url: None,
                });
            }
            Some(_) => return Err("`repository.head` is not a commit id".to_string()),
        }
        match repository.get("shallow") {
            None | Some(Value::Null) => {}
            Some(Value::Bool(shallow)) => fetched.shallow = *shallow,
            Some(_) => return Err("`repository.shallow` is not true or false".to_string()),
        }
    }
    Ok(fetched)
}

fn strings(value: Option<&Value>, field: &str) -> Result<Vec<String>, String> {
    let list = value
        .and_then(Value::as_array)
        .ok_or_else(|| format!("`{field}` is missing or not a list"))?;
    let mut out = Vec::new();
    for item in list {
        let text = item
            .as_str()
            .ok_or_else(|| format!("`{field}` holds something that is not a string"))?;
        if out.len() < MAX_LIST {
            out.push(clean(text));
        }
    }
    if list.len() > MAX_LIST {
        out.push(format!("... and {} more", list.len() - MAX_LIST));
    }
    Ok(out)
}

/// Student text for the dashboard: control characters become spaces, bidi overrides (which
/// can make text read backwards) are dropped, and it is cut to [`MAX_TEXT`] characters.
pub(crate) fn clean(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(MAX_TEXT * 4));
    for (count, c) in text.chars().enumerate() {
        if count == MAX_TEXT {
            out.push('…');
            break;
        }
        match c {
            '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' => {}
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(state: &str) -> String {
        let badge = format!(r#"{{"state": "{state}", "reasons": ["r"], "artifacts": []}}"#);
        format!(
            r#"{{"badges": {{"rehearsal": {badge}, "migration": {badge}, "smoke": {badge}, "flag": {badge}}}, "repository": {{"head": "0123456789abcdef0123456789abcdef01234567", "releases": [1, 2]}}}}"#
        )
    }

    #[test]
    fn the_stable_core_is_read() {
        let fetched = parse(doc("verified").as_bytes()).unwrap();
        assert_eq!(fetched.badges.len(), 4);
        assert_eq!(fetched.badges[2].state, State::Verified);
        assert_eq!(fetched.releases, Some(2));
        assert_eq!(fetched.last_commit.unwrap().short, "0123456");
    }

    #[test]
    fn malformed_documents_name_the_field() {
        assert!(parse(b"<html>").unwrap_err().contains("not valid JSON"));
        assert!(parse(b"[]").unwrap_err().contains("not a JSON object"));
        assert!(parse(doc("great").as_bytes())
            .unwrap_err()
            .contains("badges.rehearsal.state"));
        assert!(parse(br#"{"badges": {}}"#)
            .unwrap_err()
            .contains("badges.rehearsal"));
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(parse(deep.as_bytes()).is_err());
        let bad_head =
            doc("missing").replace("0123456789abcdef0123456789abcdef01234567", "<script>");
        assert!(parse(bad_head.as_bytes())
            .unwrap_err()
            .contains("repository.head"));
    }

    /// A local HTTP server on 127.0.0.1: `answer` maps a request path to the raw response
    /// (head and body) written back; the connection is closed after it.
    struct Local {
        port: u16,
    }

    impl Local {
        fn start(answer: impl Fn(&str, u16) -> String + Send + Sync + 'static) -> Local {
            use std::io::{BufRead, BufReader, Write};
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let port = listener.local_addr().unwrap().port();
            let answer = std::sync::Arc::new(answer);
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    let Ok(mut stream) = stream else { continue };
                    let answer = std::sync::Arc::clone(&answer);
                    std::thread::spawn(move || {
                        let mut reader = BufReader::new(stream.try_clone().unwrap());
                        let mut first = String::new();
                        let _ = reader.read_line(&mut first);
                        loop {
                            let mut line = String::new();
                            if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                                break;
                            }
                        }
                        let path = first.split(' ').nth(1).unwrap_or("").to_string();
                        let _ = stream.write_all(answer(&path, port).as_bytes());
                    });
                }
            });
            Local { port }
        }

        fn url(&self, path: &str) -> String {
            format!("http://127.0.0.1:{}{path}", self.port)
        }
    }

    fn redirect(location: &str) -> String {
        format!(
            "HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
    }

    fn ok(body: &str) -> String {
        format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    }

    fn fetch(url: &str) -> Result<Vec<u8>, String> {
        Fetcher::new(Duration::from_secs(3)).get(&Location::Url(url.to_string()))
    }

    /// A second server, on another port of 127.0.0.1: another origin.
    fn elsewhere() -> Local {
        Local::start(|_, _| ok("ELSEWHERE"))
    }

    #[test]
    fn a_loopback_roster_url_and_its_same_host_redirects_are_followed() {
        let server = Local::start(|path, _| match path {
            "/good.json" => ok("GOOD"),
            "/moved" => redirect("/good.json"),
            "/moved-relative/x" => redirect("../good.json"),
            _ => ok("?"),
        });
        assert_eq!(fetch(&server.url("/good.json")).unwrap(), b"GOOD");
        assert_eq!(fetch(&server.url("/moved")).unwrap(), b"GOOD");
        assert_eq!(fetch(&server.url("/moved-relative/x")).unwrap(), b"GOOD");
        let absolute = format!("/absolute-{}", server.port);
        let same = Local::start(move |path, port| match path {
            "/good.json" => ok("GOOD"),
            _ => redirect(&format!("http://127.0.0.1:{port}/good.json")),
        });
        assert_eq!(fetch(&same.url(&absolute)).unwrap(), b"GOOD");
    }

    #[test]
    fn redirects_to_another_host_are_refused() {
        let other = elsewhere();
        let other_port = other.port;
        let server = Local::start(move |path, port| match path {
            // The same server under another name: another host.
            "/to-localhost" => redirect(&format!("http://localhost:{port}/good.json")),
            // Another port of the same address: another origin.
            "/to-other-port" => redirect(&format!("http://127.0.0.1:{other_port}/x")),
            "/to-metadata" => redirect("http://169.254.169.254/latest/meta-data/"),
            "/to-private" => redirect("https://10.0.0.1/evidence.json"),
            "/to-v6-link-local" => redirect("http://[fe80::1]/evidence.json"),
            "/to-scheme-relative" => redirect("//169.254.169.254/x"),
            "/good.json" => ok("GOOD"),
            _ => ok("?"),
        });
        for path in [
            "/to-localhost",
            "/to-other-port",
            "/to-metadata",
            "/to-private",
            "/to-v6-link-local",
            "/to-scheme-relative",
        ] {
            let error = fetch(&server.url(path)).unwrap_err();
            assert!(
                error.contains("redirect") && error.contains("refused"),
                "{path}: {error}"
            );
        }
    }

    #[test]
    fn redirected_requests_connect_to_public_addresses_only() {
        // The redirect client resolves names itself and drops internal answers: `localhost`
        // resolves to loopback, so the request is refused before any connection.
        let server = Local::start(|_, _| ok("GOOD"));
        let fetcher = Fetcher::new(Duration::from_secs(3));
        for url in [
            format!("http://localhost:{}/good.json", server.port),
            server.url("/good.json"),
        ] {
            let error = fetcher.guarded.get(&url).call().unwrap_err();
            let text = fetcher.describe(&error);
            assert!(
                text.contains("refused") && text.contains("internal address"),
                "{url}: {text}"
            );
        }
        // The roster's own URL, as written, is still reached.
        assert_eq!(fetch(&server.url("/good.json")).unwrap(), b"GOOD");
    }

    #[test]
    fn internal_addresses_are_recognised() {
        for internal in [
            "127.0.0.1",
            "127.8.9.10",
            "0.0.0.0",
            "0.1.2.3",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.100.100.200",
            "224.0.0.1",
            "255.255.255.255",
            "240.0.0.1",
            "192.0.0.170",
            "198.18.0.1",
            "::",
            "::1",
            "fe80::1",
            "febf::1",
            "fc00::1",
            "fd12:3456::1",
            "fec0::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:10.1.2.3",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:a9fe:a9fe::1",
            "2001:db8::1",
        ] {
            let ip: IpAddr = internal.parse().unwrap();
            assert!(is_internal(ip), "{internal} is internal");
        }
        for public in [
            "8.8.8.8",
            "185.199.108.153",
            "172.32.0.1",
            "172.15.255.255",
            "100.63.255.255",
            "100.128.0.1",
            "169.255.0.1",
            "192.169.0.1",
            "2606:50c0:8000::153",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
            "fe00::1",
            "2a00:1450::1",
        ] {
            let ip: IpAddr = public.parse().unwrap();
            assert!(!is_internal(ip), "{public} is public");
        }
    }

    fn uri(text: &str) -> Uri {
        text.parse().unwrap()
    }

    #[test]
    fn locations_are_made_absolute() {
        let base = uri("https://ada.github.io/orders/evidence?x=1");
        for (location, expected) in [
            ("/evidence.json", "https://ada.github.io/evidence.json"),
            (
                "evidence.json",
                "https://ada.github.io/orders/evidence.json",
            ),
            ("../e.json#frag", "https://ada.github.io/e.json"),
            (
                "./a/./b/../e.json?v=2",
                "https://ada.github.io/orders/a/e.json?v=2",
            ),
            ("?y=2", "https://ada.github.io/orders/evidence?y=2"),
            ("//other.example/x", "https://other.example/x"),
            ("HTTPS://Ada.GitHub.io/x", "https://Ada.GitHub.io/x"),
            ("http://ada.github.io/x", "http://ada.github.io/x"),
        ] {
            assert_eq!(
                resolve_location(&base, location).unwrap().to_string(),
                expected,
                "{location}"
            );
        }
        for bad in [
            "file:///etc/passwd",
            "ftp://ada.github.io/x",
            "javascript:alert(1)",
            "",
            "/a b",
            "/a\r\nSet-Cookie: x",
            "https:///nohost",
        ] {
            assert!(resolve_location(&base, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn redirects_stay_on_the_roster_host_over_https() {
        let check = |origin: &str, from: &str, to: &str| {
            let origin = uri(origin);
            let trusted = trusted_as_written(&origin);
            check_redirect(&origin, &uri(from), uri(to), trusted)
        };
        let pages = "https://ada.github.io/orders/evidence.json";
        assert!(check(pages, pages, "https://ada.github.io/orders/evidence.json/").is_ok());
        assert!(check(pages, pages, "https://ADA.github.io./x").is_ok());
        let plain = "http://ada.github.io/evidence.json";
        assert!(check(plain, plain, "https://ada.github.io/evidence.json").is_ok());
        let local = "http://127.0.0.1:8000/e.json";
        assert!(check(local, local, "http://127.0.0.1:8000/f.json").is_ok());
        let v6 = "http://[::1]:8000/e.json";
        assert!(check(v6, v6, "http://[::1]:8000/f.json").is_ok());
        for (origin, to, why) in [
            (pages, "http://ada.github.io/x", "down to plain http"),
            (pages, "https://evil.example/x", "another host"),
            (pages, "https://169.254.169.254/x", "another host"),
            (pages, "https://ada.github.io:8443/x", "another port"),
            (pages, "https://user@ada.github.io/x", "user name"),
            (local, "http://localhost:8000/x", "another host"),
            (local, "http://127.0.0.1:8001/x", "another port"),
            (local, "http://10.0.0.1:8000/x", "another host"),
            (v6, "http://[fe80::1]:8000/x", "another host"),
        ] {
            let error = check(origin, origin, to).unwrap_err();
            assert!(error.contains(why), "{to}: {error}");
        }
        // A public literal as the roster's host: redirects to it are fine, and it is never
        // internal; an internal literal reached any other way is refused.
        let public = "https://185.199.108.153/e.json";
        assert!(check(public, public, "https://185.199.108.153/f.json").is_ok());
        let origin = uri("https://ada.github.io/e.json");
        let internal = uri("https://169.254.169.254/x");
        // (Same host is required first; the literal check stands on its own too.)
        assert!(check_redirect(&internal, &origin, internal.clone(), false)
            .unwrap_err()
            .contains("internal address"));
    }

    #[test]
    fn the_roster_host_is_trusted_as_written_only_when_it_is_a_literal_or_localhost() {
        for trusted in [
            "http://127.0.0.1:8000/e.json",
            "http://localhost/e.json",
            "http://[::1]/e.json",
            "http://10.1.2.3/e.json",
        ] {
            assert!(trusted_as_written(&uri(trusted)), "{trusted}");
        }
        for named in ["https://ada.github.io/e.json", "http://metadata.example/"] {
            assert!(!trusted_as_written(&uri(named)), "{named}");
        }
    }

    #[test]
    fn text_is_cleaned_and_bounded() {
        assert_eq!(clean("a\u{0}b\u{202e}c\nd"), "a bc d");
        assert_eq!(
            clean(&"x".repeat(MAX_TEXT + 10)).chars().count(),
            MAX_TEXT + 1
        );
    }
}
