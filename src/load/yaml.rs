//! Every YAML call of the project goes through this module, so that serde_yaml (archived
//! upstream) can be swapped for a maintained fork in one place.
//!
//! It also enforces the limits that keep hostile front matter cheap: a size cap and an alias
//! budget. serde_yaml bounds nested alias *jumps*, but not memory: one large scalar aliased a
//! few thousand times is accepted and can take hundreds of megabytes.

use serde::de::DeserializeOwned;

/// Front matter and config larger than this are refused before parsing.
pub(crate) const MAX_YAML_BYTES: usize = 64 * 1024;

/// Upper bound on (alias uses x document size): what the aliases could expand to.
const ALIAS_EXPANSION_BUDGET: usize = 4 * 1024 * 1024;

/// A YAML problem, with the 1-based line inside the YAML text where the parser knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct YamlError {
    pub line: Option<usize>,
    pub message: String,
}

impl std::fmt::Display for YamlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Parses `text` into `T`, refusing oversized input and alias bombs first.
pub(crate) fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, YamlError> {
    check_limits(text)?;
    // serde_yaml refuses an empty document for structs; an empty block means "all defaults".
    let text = if text.trim().is_empty() { "{}" } else { text };
    serde_yaml::from_str(text).map_err(|e| YamlError {
        line: e.location().map(|l| l.line()),
        message: tidy_message(&e.to_string()),
    })
}

fn check_limits(text: &str) -> Result<(), YamlError> {
    if text.len() > MAX_YAML_BYTES {
        return Err(YamlError {
            line: None,
            message: format!(
                "YAML block is {} KiB, over the {} KiB limit",
                text.len() / 1024,
                MAX_YAML_BYTES / 1024
            ),
        });
    }
    let aliases = count_alias_uses(text);
    if aliases > 0 && aliases.saturating_mul(text.len()) > ALIAS_EXPANSION_BUDGET {
        return Err(YamlError {
            line: None,
            message: format!(
                "YAML block uses {aliases} aliases (`*name`), more than this file's size allows"
            ),
        });
    }
    Ok(())
}

/// Counts tokens that look like alias uses. It over-counts (a `*word` inside a quoted string
/// counts too), which only makes the budget stricter for files that also define anchors.
fn count_alias_uses(text: &str) -> usize {
    if !text.contains('&') {
        return 0; // no anchor, so no alias can expand to anything
    }
    let bytes = text.as_bytes();
    let mut count = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b != b'*' {
            continue;
        }
        let starts_token = i == 0
            || matches!(
                bytes[i - 1],
                b' ' | b'\t' | b'\n' | b'[' | b'{' | b',' | b':' | b'-'
            );
        let named = bytes
            .get(i + 1)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_');
        if starts_token && named {
            count += 1;
        }
    }
    count
}

/// serde_yaml appends " at line L column C" to its messages; the caller reports the line itself
/// (shifted to the file's numbering), so the fragment's own position would only mislead.
fn tidy_message(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

/// The 1-based line where a top-level `key:` is written, for warnings about that key.
pub(crate) fn top_level_key_line(text: &str, key: &str) -> Option<usize> {
    text.lines()
        .position(|line| {
            let unquoted = line
                .strip_prefix('"')
                .and_then(|l| l.strip_prefix(key))
                .and_then(|l| l.strip_prefix('"'))
                .or_else(|| line.strip_prefix(key));
            unquoted.is_some_and(|rest| rest.trim_start().starts_with(':'))
        })
        .map(|i| i + 1)
}

/// A YAML document as a tree, for readers that walk documents of their own shape (workflows).
pub(crate) use serde_yaml::Value;

/// Parses `text` into a tree with merge keys (`<<: *defaults`) resolved at every depth, as
/// GitHub Actions reads workflows (anchors and aliases are resolved by the parser). Alias bombs
/// are refused first.
pub(crate) fn value_with_merges(text: &str) -> Result<Value, YamlError> {
    let aliases = count_alias_uses(text);
    if aliases > 0 && aliases.saturating_mul(text.len()) > ALIAS_EXPANSION_BUDGET {
        return Err(YamlError {
            line: None,
            message: format!("YAML uses {aliases} aliases (`*name`), more than its size allows"),
        });
    }
    let fail = |line: Option<usize>, message: String| YamlError { line, message };
    let mut value: Value = serde_yaml::from_str(text)
        .map_err(|e| fail(e.location().map(|l| l.line()), tidy_message(&e.to_string())))?;
    // `apply_merge` resolves `<<` everywhere, but a merged-in mapping may itself carry a `<<`
    // that came from an alias; repeat until none is left (bounded: nesting of merges).
    for _ in 0..16 {
        value
            .apply_merge()
            .map_err(|e| fail(None, tidy_message(&e.to_string())))?;
        if !has_merge_key(&value, 0) {
            return Ok(value);
        }
    }
    Err(fail(None, "merge keys (`<<`) nest too deeply".into()))
}
fn has_merge_key(v: &Value, depth: usize) -> bool {
    if depth > 256 {
        return true;
    }
    match v {
        Value::Mapping(m) => {
            m.contains_key("<<") || m.values().any(|v| has_merge_key(v, depth + 1))
        }
        Value::Sequence(s) => s.iter().any(|v| has_merge_key(v, depth + 1)),
        Value::Tagged(t) => has_merge_key(&t.value, depth + 1),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, Debug, Default)]
    #[serde(default)]
    struct Fm {
        title: String,
        draft: bool,
        version: Option<String>,
    }

    #[test]
    fn error_carries_fragment_line() {
        let err = from_str::<Fm>("title: ok\n\tdraft: true\n").unwrap_err();
        assert_eq!(err.line, Some(2), "{err:?}");
        assert!(!err.message.contains(" at line "), "{err:?}");
    }

    #[test]
    fn norway_and_versions_stay_strings() {
        let fm: Fm = from_str("version: 1.10\n").unwrap();
        assert_eq!(fm.version.as_deref(), Some("1.10"));
        let err = from_str::<Fm>("draft: yes\n").unwrap_err();
        assert!(err.message.contains("bool"), "{err:?}");
    }

    #[test]
    fn empty_block_is_defaults() {
        let fm: Fm = from_str("\n").unwrap();
        assert_eq!(fm.title, "");
    }

    #[test]
    fn oversized_block_is_refused_without_parsing() {
        let big = format!("title: \"{}\"\n", "x".repeat(MAX_YAML_BYTES));
        let err = from_str::<Fm>(&big).unwrap_err();
        assert!(err.message.contains("limit"), "{err:?}");
    }

    #[test]
    fn alias_bomb_is_refused_quickly() {
        let scalar = "x".repeat(30 * 1024);
        let mut text = format!("a: &big \"{scalar}\"\ntags: [");
        for _ in 0..2000 {
            text.push_str("*big,");
        }
        text.push_str("]\n");
        let text = &text[..text.len().min(MAX_YAML_BYTES)];
        let err = from_str::<serde_json::Value>(text).unwrap_err();
        assert!(err.message.contains("aliases"), "{err:?}");
    }

    #[test]
    fn finds_top_level_key_line() {
        let text = "title: a\nnested:\n  titel: b\ntitel: c\n";
        assert_eq!(top_level_key_line(text, "titel"), Some(4));
        assert_eq!(top_level_key_line(text, "missing"), None);
    }
}
