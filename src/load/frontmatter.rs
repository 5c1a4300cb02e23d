//! Splits a Markdown file into its YAML front matter and body, and reads the front matter
//! with line numbers that count in the file, not in the YAML fragment.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use serde::de::DeserializeOwned;

use crate::diagnostics::Diagnostic;
use crate::load::yaml;

/// A Markdown source split at its `---` fences. Line numbers are 1-based file lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Split<'a> {
    /// The YAML between the fences, or "" when the file has none.
    pub yaml: &'a str,
    /// File line of the first YAML line (the line after the opening fence).
    pub yaml_first_line: usize,
    pub body: &'a str,
    /// File line where the body starts.
    pub body_first_line: usize,
}

/// Normalises what editors vary on: a UTF-8 byte-order mark and CRLF line ends. Line numbers
/// are unchanged by both.
pub(crate) fn normalise(text: &str) -> String {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.contains('\r') {
        text.replace("\r\n", "\n")
    } else {
        text.to_string()
    }
}

/// Reads a file that must be a regular file: a named pipe (FIFO), socket or device is refused
/// before it is read (reading a FIFO would wait for a writer forever), and the file is opened
/// without blocking and checked again once open, in case it was swapped after the first check.
/// Files over `limit` bytes are refused too.
pub(crate) fn read_regular_file(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    let metadata = std::fs::metadata(path)?;
    refuse_non_regular(&metadata)?;
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
    }
    let file = options.open(path)?;
    let metadata = file.metadata()?;
    refuse_non_regular(&metadata)?;
    if metadata.len() > limit {
        return Err(too_large(limit));
    }
    let mut bytes = Vec::with_capacity(metadata.len() as usize);
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(too_large(limit));
    }
    Ok(bytes)
}

fn too_large(limit: u64) -> std::io::Error {
    std::io::Error::other(format!("the file is over the {} KiB limit", limit / 1024))
}

/// An error when `metadata` is not a regular file's, naming what it is.
pub(crate) fn refuse_non_regular(metadata: &std::fs::Metadata) -> std::io::Result<()> {
    match non_regular_kind(metadata) {
        None => Ok(()),
        Some(kind) => Err(std::io::Error::other(format!(
            "is {kind}, not a regular file; only regular files are read"
        ))),
    }
}

/// What a non-regular file is ("a named pipe (FIFO)", ...), or `None` for a regular file.
pub(crate) fn non_regular_kind(metadata: &std::fs::Metadata) -> Option<&'static str> {
    let file_type = metadata.file_type();
    if file_type.is_file() {
        return None;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return Some("a named pipe (FIFO)");
        }
        if file_type.is_socket() {
            return Some("a socket");
        }
        if file_type.is_block_device() || file_type.is_char_device() {
            return Some("a device");
        }
    }
    if file_type.is_dir() {
        return Some("a folder");
    }
    if file_type.is_symlink() {
        return Some("a symbolic link");
    }
    Some("a special file")
}

/// Splits normalised text. A file that does not start with `---` has no front matter; one that
/// opens a fence and never closes it is an error at line 1.
pub(crate) fn split(text: &str) -> Result<Split<'_>, Diagnostic> {
    let no_front_matter = Split {
        yaml: "",
        yaml_first_line: 1,
        body: text,
        body_first_line: 1,
    };
    let Some(after_open) = text.strip_prefix("---") else {
        return Ok(no_front_matter);
    };
    let Some(after_open) = after_open
        .strip_prefix('\n')
        .or_else(|| {
            after_open
                .trim_start_matches([' ', '\t'])
                .strip_prefix('\n')
        })
        .or((after_open.trim().is_empty()).then_some(""))
    else {
        // `---foo` or a thematic break with text after it: not a fence.
        return Ok(no_front_matter);
    };
    let mut offset = 0;
    for (index, line) in after_open.split_inclusive('\n').enumerate() {
        if line.trim_end() == "---" || line.trim_end() == "..." {
            let yaml = &after_open[..offset];
            let body = &after_open[offset + line.len()..];
            return Ok(Split {
                yaml,
                yaml_first_line: 2,
                body,
                body_first_line: index + 3,
            });
        }
        offset += line.len();
    }
    Err(
        Diagnostic::error("front matter opened with `---` is never closed")
            .at_line(1)
            .with_hint("end the front matter with a line that holds only `---`"),
    )
}

/// Reads the YAML of `split` into `T`, which must collect unknown keys in a flattened
/// `extra: BTreeMap<String, serde_json::Value>` and list its own keys in `known`.
pub(crate) fn parse<T: DeserializeOwned>(split: &Split<'_>) -> Result<T, Diagnostic> {
    yaml::from_str(split.yaml).map_err(|e| {
        Diagnostic::error(format!("front matter: {}", e.message))
            .at_line_opt(e.line.map(|l| l + split.yaml_first_line - 1))
            .with_hint("fix the YAML between the `---` lines (quote values that contain `: `)")
    })
}

/// Warnings for the keys of `extra` that are not `known`, with their file line and a
/// suggestion when a known key is close.
pub(crate) fn unknown_key_warnings(
    yaml_text: &str,
    yaml_first_line: usize,
    extra: &BTreeMap<String, serde_json::Value>,
    known: &[&str],
) -> Vec<Diagnostic> {
    extra
        .keys()
        .filter(|key| !known.contains(&key.as_str()))
        .map(|key| {
            let line = yaml::top_level_key_line(yaml_text, key).map(|l| l + yaml_first_line - 1);
            let hint = match closest(key, known) {
                Some(suggestion) => format!(
                    "did you mean `{suggestion}`? Known keys: {}",
                    known.join(", ")
                ),
                None => format!(
                    "known keys: {}; remove it or check its spelling",
                    known.join(", ")
                ),
            };
            Diagnostic::warning(format!("unknown key `{key}`"))
                .at_line_opt(line)
                .with_hint(hint)
        })
        .collect()
}

/// The known key within edit distance 2 of `key`, if any.
fn closest<'k>(key: &str, known: &[&'k str]) -> Option<&'k str> {
    known
        .iter()
        .map(|k| (edit_distance(key, k), *k))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_fences_and_counts_file_lines() {
        let s = split("---\ntitle: a\n---\nbody\n").unwrap();
        assert_eq!(s.yaml, "title: a\n");
        assert_eq!(s.body, "body\n");
        assert_eq!(s.yaml_first_line, 2);
        assert_eq!(s.body_first_line, 4);
    }

    #[test]
    fn bom_and_crlf_equal_plain() {
        let plain = normalise("---\ntitle: a\n---\nbody\n");
        assert_eq!(
            normalise("\u{feff}---\r\ntitle: a\r\n---\r\nbody\r\n"),
            plain
        );
    }

    #[test]
    fn empty_and_fence_only_files() {
        assert_eq!(split("").unwrap().yaml, "");
        let s = split("---\n---\n").unwrap();
        assert_eq!((s.yaml, s.body), ("", ""));
        let s = split("---\n---").unwrap();
        assert_eq!((s.yaml, s.body), ("", ""));
    }

    #[test]
    fn unclosed_fence_is_an_error_at_line_one() {
        let err = split("---\ntitle: a\nbody\n").unwrap_err();
        assert_eq!(err.line, Some(1));
        // pulldown-cmark #913's input terminates too
        assert!(split(" ---\n--\n---\n").is_ok());
    }

    #[test]
    fn yaml_error_line_is_a_file_line() {
        let text = "---\ntitle: ok\ndescription: Rust: the good parts\n---\n";
        let s = split(text).unwrap();
        let err = parse::<serde_json::Value>(&s).unwrap_err();
        assert_eq!(err.line, Some(3), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn a_named_pipe_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("x.md");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
        let err = read_regular_file(&fifo, 1024).unwrap_err();
        assert!(err.to_string().contains("named pipe"), "{err}");
        std::fs::write(dir.path().join("ok.md"), "hello").unwrap();
        assert_eq!(
            read_regular_file(&dir.path().join("ok.md"), 1024).unwrap(),
            b"hello"
        );
        assert!(read_regular_file(&dir.path().join("ok.md"), 2).is_err());
        assert!(read_regular_file(Path::new("/dev/zero"), 1024).is_err());
    }

    #[test]
    fn suggests_close_keys() {
        let mut extra = BTreeMap::new();
        extra.insert("titel".to_string(), serde_json::Value::Null);
        let w = unknown_key_warnings("titel: x\n", 2, &extra, &["title", "weight"]);
        assert_eq!(w[0].line, Some(2));
        assert!(w[0]
            .hint
            .as_deref()
            .unwrap()
            .contains("did you mean `title`"));
    }
}
