//! Request targets to files, refusing everything that could leave the build directory.
//!
//! tiny_http hands over the request-target exactly as sent, so every trick arrives here: `..`
//! raw or percent-encoded, double encoding, backslashes, drive letters, NUL, `//` (which makes
//! `Path::join` replace the root) and absolute-form targets. The rules, in order:
//! 1. the target must be origin-form (`/...`): absolute-form (`http://evil/`) and `*` are refused;
//! 2. query and fragment are dropped; the raw path may not hold `\`, control characters or NUL;
//! 3. the path is split on `/` first and each segment percent-decoded exactly once, so `%2f`
//!    can never make a new separator and `%252e` stays the literal name `%2e`;
//! 4. a decoded segment may not be `.`, `..` or empty (except a trailing `/`), nor hold `/`,
//!    `\`, `:` (drive letters, `c:`), NUL or invalid UTF-8;
//! 5. a segment starting with `.` is a dotfile: not found, never served.
//!
//! What remains is a list of plain names, joined under the build directory by the server, which
//! then checks the *final* path (after `index.html` is appended) against symlinks; see
//! [`resolve_file`].

use std::path::{Path, PathBuf};

/// The longest request path accepted; site paths are far shorter.
const MAX_PATH: usize = 2048;

/// A request path reduced to plain names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Target {
    /// Decoded segments, none empty, none special.
    pub segments: Vec<String>,
    /// The path ended in `/` (or was `/`): a folder's `index.html` is meant.
    pub trailing_slash: bool,
}

/// Why a request path is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refusal {
    /// Malformed or an escape attempt: 400.
    BadRequest,
    /// A dotfile or a name that cannot exist in the output: 404.
    NotFound,
}

/// Parses a raw request-target.
pub(super) fn parse_target(raw: &str) -> Result<Target, Refusal> {
    if !raw.starts_with('/') || raw.len() > MAX_PATH {
        return Err(Refusal::BadRequest);
    }
    let path = raw.split(['?', '#']).next().unwrap_or("");
    if path.bytes().any(|b| b == b'\\' || b < 0x20 || b == 0x7f) {
        return Err(Refusal::BadRequest);
    }
    let body = &path[1..];
    let trailing_slash = body.is_empty() || body.ends_with('/');
    let body = body.strip_suffix('/').unwrap_or(body);
    let mut segments = Vec::new();
    if !body.is_empty() {
        for raw_segment in body.split('/') {
            segments.push(decode_segment(raw_segment)?);
        }
    }
    // Dotfiles are checked after every segment is known to be well-formed, so that a
    // malformed path is a 400 whatever it contains.
    if segments.iter().any(|s| s.starts_with('.')) {
        return Err(Refusal::NotFound);
    }
    Ok(Target {
        segments,
        trailing_slash,
    })
}

/// One segment, percent-decoded once and checked.
fn decode_segment(raw: &str) -> Result<String, Refusal> {
    if raw.is_empty() {
        return Err(Refusal::BadRequest); // `//`: would restart the path at the root
    }
    let mut bytes = Vec::with_capacity(raw.len());
    let mut input = raw.bytes();
    while let Some(b) = input.next() {
        if b == b'%' {
            let hi = input.next().and_then(hex_value);
            let lo = input.next().and_then(hex_value);
            match (hi, lo) {
                (Some(hi), Some(lo)) => bytes.push(hi << 4 | lo),
                _ => return Err(Refusal::BadRequest),
            }
        } else {
            bytes.push(b);
        }
    }
    let text = String::from_utf8(bytes).map_err(|_| Refusal::BadRequest)?;
    let special = text == "." || text == "..";
    let forbidden = text
        .chars()
        .any(|c| matches!(c, '/' | '\\' | ':' | '\0') || c.is_control());
    if special || forbidden {
        return Err(Refusal::BadRequest);
    }
    Ok(text)
}

fn hex_value(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Strips the site's base path (`/` or `/portfolio/`, as segments) from a target; `None` when
/// the target is outside it.
pub(super) fn strip_base<'t>(target: &'t Target, base: &[String]) -> Option<&'t [String]> {
    let rest = target.segments.strip_prefix(base)?;
    // `/portfolio` (no slash) is the base folder without its slash: the caller redirects.
    if rest.is_empty() && !target.trailing_slash && !base.is_empty() {
        return None;
    }
    Some(rest)
}

/// What a request for some names in the build directory comes to.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Resolved {
    File(PathBuf),
    /// A folder asked for without its trailing slash: relative links in its page need it.
    AddSlash,
    NotFound,
}

/// Finds the file for `names` under `dir` (whose canonical form is `canonical_dir`). The final
/// path, after `index.html` is appended, is canonicalised and must still be inside the build
/// directory, a regular file, and free of dot-names: a symlink anywhere on the way that points
/// outside (or at a dotfile) is a 404.
pub(super) fn resolve_file(
    dir: &Path,
    canonical_dir: &Path,
    names: &[String],
    trailing_slash: bool,
) -> Resolved {
    let mut path = dir.to_path_buf();
    path.extend(names);
    if trailing_slash {
        path.push("index.html");
    } else if path.is_dir() {
        return Resolved::AddSlash;
    }
    let Ok(real) = path.canonicalize() else {
        return Resolved::NotFound;
    };
    let Ok(inside) = real.strip_prefix(canonical_dir) else {
        return Resolved::NotFound;
    };
    let hidden = inside
        .components()
        .any(|c| c.as_os_str().to_string_lossy().starts_with('.'));
    if hidden || !real.is_file() {
        return Resolved::NotFound;
    }
    Resolved::File(real)
}

/// The segments of a base path: `/portfolio/` -> `["portfolio"]`, `/` -> `[]`.
pub(super) fn base_segments(base_path: &str) -> Vec<String> {
    base_path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(raw: &str) -> Vec<String> {
        parse_target(raw).unwrap().segments
    }

    #[test]
    fn plain_paths_parse() {
        assert_eq!(names("/"), Vec::<String>::new());
        assert!(parse_target("/").unwrap().trailing_slash);
        assert_eq!(names("/posts/page-1/"), vec!["posts", "page-1"]);
        assert_eq!(
            names("/static/style.css?v=2#x"),
            vec!["static", "style.css"]
        );
        assert_eq!(names("/a%20b.html"), vec!["a b.html"]);
        assert!(!parse_target("/a.css").unwrap().trailing_slash);
    }

    #[test]
    fn escapes_are_bad_requests() {
        for raw in [
            "/../../etc/passwd",
            "/a/../../x",
            "/%2e%2e/%2e%2e/etc/passwd",
            "/%2E%2E/x",
            "/a%2f..%2f..%2fx",
            "//etc/passwd",
            "/..\\..\\win.ini",
            "/%5c..%5cwin.ini",
            "/c:/windows/win.ini",
            "/x/c%3A/windows",
            "/a%00.html",
            "/a\0b",
            "/%ff%fe",
            "/%zz",
            "/%2",
            "http://evil/",
            "../etc/passwd",
            "*",
            "",
        ] {
            assert_eq!(parse_target(raw), Err(Refusal::BadRequest), "{raw:?}");
        }
        assert_eq!(
            parse_target(&format!("/{}", "a".repeat(8192))),
            Err(Refusal::BadRequest)
        );
    }

    #[test]
    fn double_encoding_stays_a_literal_name_and_dotfiles_are_not_found() {
        assert_eq!(names("/%252e%252e/x"), vec!["%2e%2e", "x"]);
        assert_eq!(parse_target("/.git/config"), Err(Refusal::NotFound));
        assert_eq!(parse_target("/a/.clinic-build"), Err(Refusal::NotFound));
        assert_eq!(parse_target("/%2egit/HEAD"), Err(Refusal::NotFound));
    }

    #[test]
    fn base_path_is_stripped_or_refused() {
        let base = base_segments("/portfolio/");
        let t = parse_target("/portfolio/a/").unwrap();
        assert_eq!(strip_base(&t, &base).unwrap(), ["a".to_string()]);
        assert!(strip_base(&parse_target("/other/").unwrap(), &base).is_none());
        assert!(strip_base(&parse_target("/portfolio").unwrap(), &base).is_none());
        assert_eq!(
            strip_base(&parse_target("/portfolio/").unwrap(), &base)
                .unwrap()
                .len(),
            0
        );
        assert_eq!(
            strip_base(&parse_target("/x").unwrap(), &[]).unwrap(),
            ["x".to_string()]
        );
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_out_of_the_build_are_not_followed() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("site");
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::create_dir_all(dir.join("ok")).unwrap();
        std::fs::write(dir.join("ok/index.html"), "ok").unwrap();
        std::fs::write(tmp.path().join("secret"), "secret").unwrap();
        std::os::unix::fs::symlink(tmp.path().join("secret"), dir.join("a.html")).unwrap();
        std::os::unix::fs::symlink(tmp.path().join("secret"), dir.join("sub/index.html")).unwrap();
        std::os::unix::fs::symlink("/", dir.join("d")).unwrap();
        let canonical = dir.canonicalize().unwrap();
        let resolve = |raw: &str| {
            let t = parse_target(raw).unwrap();
            resolve_file(&dir, &canonical, &t.segments, t.trailing_slash)
        };
        assert_eq!(resolve("/a.html"), Resolved::NotFound);
        assert_eq!(resolve("/sub/"), Resolved::NotFound);
        assert_eq!(resolve("/d/etc/passwd"), Resolved::NotFound);
        assert_eq!(resolve("/ok"), Resolved::AddSlash);
        assert_eq!(
            resolve("/ok/"),
            Resolved::File(canonical.join("ok/index.html"))
        );
        assert_eq!(resolve("/missing.css"), Resolved::NotFound);
    }
}
