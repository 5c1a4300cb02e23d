//! Every YAML call of the project goes through this module, so that serde_yaml (archived
//! upstream) can be swapped for a maintained fork in one place.
//!
//! It also enforces the limits that keep hostile front matter cheap: a size cap and an alias
//! budget. serde_yaml bounds nested alias *jumps*, but not memory: one large scalar aliased a
//! few thousand times is accepted and can take hundreds of megabytes, and nested aliases
//! (`l2: &l2 [*l1, *l1]`, ...) double it at every level. So before any document is turned into
//! values, [`check_document`] walks its event stream once, with every alias visited as the
//! content it stands for, counting the size of what it expands to; the walk stops at the first
//! unit over [`EXPANSION_BUDGET`], so it is bounded in time and keeps nothing in memory. The same
//! walk refuses duplicate keys at the duplicate's own line.

use std::cell::{Cell, RefCell};
use std::collections::HashSet;

use serde::de::{DeserializeOwned, DeserializeSeed, MapAccess, SeqAccess, VariantAccess, Visitor};

/// Front matter and config larger than this are refused before parsing.
pub(crate) const MAX_YAML_BYTES: usize = 64 * 1024;

/// Upper bound on (alias uses x document size): what the aliases could expand to.
const ALIAS_EXPANSION_BUDGET: usize = 4 * 1024 * 1024;

/// Upper bound on the size of a document with every alias expanded: scalar bytes plus
/// [`NODE_COST`] per node. Documents without aliases are counted too, at their own size.
pub(crate) const EXPANSION_BUDGET: usize = 4 * 1024 * 1024;

/// What one node (scalar, list, mapping, entry) costs in the expansion count, roughly the memory
/// a parsed value takes beyond its text.
const NODE_COST: usize = 16;

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
    check_document(text, EXPANSION_BUDGET)?;
    serde_yaml::from_str(text).map_err(|e| YamlError {
        line: e.location().map(|l| l.line()),
        message: tidy_message(&e.to_string()),
    })
}

/// Walks the events of `text` once, aliases expanded, without keeping anything: refuses a
/// document whose expansion is over `budget` (at the line of the top-level key whose value
/// crosses it) and duplicate keys (at the duplicate's line). Syntax errors are reported as the
/// parser reports them.
fn check_document(text: &str, budget: usize) -> Result<(), YamlError> {
    let counter = Counter {
        used: Cell::new(0),
        budget,
        exceeded: Cell::new(false),
        duplicate: Cell::new(false),
        top_key: RefCell::new(None),
    };
    let result = Node {
        counter: &counter,
        depth: 0,
    }
    .deserialize(serde_yaml::Deserializer::from_str(text));
    match result {
        Ok(()) => Ok(()),
        // serde_yaml's own bound on alias jumps ("repetition limit exceeded") is the same bomb.
        Err(e) if counter.exceeded.get() || e.to_string().starts_with("repetition limit") => {
            let key = counter.top_key.borrow().clone();
            let line = key
                .as_deref()
                .and_then(|k| top_level_key_line(text, k))
                .or_else(|| first_alias_line(text))
                .unwrap_or(1);
            let place = key.map_or(String::new(), |k| format!(" (in `{k}`)"));
            Err(YamlError {
                line: Some(line),
                message: format!(
                    "YAML aliases (`*name`) expand too far{place}: over the limit of {} MiB expanded; write the values out instead of nesting aliases",
                    budget / (1024 * 1024)
                ),
            })
        }
        Err(e) if counter.duplicate.get() => Err(YamlError {
            line: e.location().map(|l| l.line()),
            message: tidy_message(&e.to_string()),
        }),
        // A syntax error: the parser that reads the values reports it, with its own line.
        Err(_) => Ok(()),
    }
}

/// The state of one [`check_document`] walk.
struct Counter {
    used: Cell<usize>,
    budget: usize,
    exceeded: Cell<bool>,
    /// A duplicate key stopped the walk.
    duplicate: Cell<bool>,
    /// The top-level key whose value is being walked.
    top_key: RefCell<Option<String>>,
}

impl Counter {
    fn charge<E: serde::de::Error>(&self, units: usize) -> Result<(), E> {
        let used = self.used.get().saturating_add(units);
        self.used.set(used);
        if used > self.budget {
            self.exceeded.set(true);
            return Err(E::custom("YAML expands past its budget"));
        }
        Ok(())
    }
}

/// Any node: counted, with its children, aliases followed.
#[derive(Clone, Copy)]
struct Node<'c> {
    counter: &'c Counter,
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for Node<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(NodeVisitor(self))
    }
}

struct NodeVisitor<'c>(Node<'c>);

impl<'de> Visitor<'de> for NodeVisitor<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<(), E> {
        self.0.counter.charge(NODE_COST)
    }
    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<(), E> {
        self.0.counter.charge(NODE_COST)
    }
    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<(), E> {
        self.0.counter.charge(NODE_COST)
    }
    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<(), E> {
        self.0.counter.charge(NODE_COST)
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<(), E> {
        self.0.counter.charge(NODE_COST.saturating_add(v.len()))
    }
    fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<(), E> {
        self.0.counter.charge(NODE_COST.saturating_add(v.len()))
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        self.0.counter.charge(NODE_COST)
    }
    fn visit_none<E: serde::de::Error>(self) -> Result<(), E> {
        self.0.counter.charge(NODE_COST)
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        self.0.deserialize(d)
    }
    fn visit_newtype_struct<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        self.0.deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let node = self.0;
        node.counter.charge(NODE_COST)?;
        let child = Node {
            counter: node.counter,
            depth: node.depth + 1,
        };
        while seq.next_element_seed(child)?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let node = self.0;
        node.counter.charge(NODE_COST)?;
        let child = Node {
            counter: node.counter,
            depth: node.depth + 1,
        };
        let seen = RefCell::new(HashSet::new());
        loop {
            let key = map.next_key_seed(Key {
                node: child,
                seen: &seen,
            })?;
            let Some(key) = key else { break };
            if node.depth == 0 {
                *node.counter.top_key.borrow_mut() = key;
            }
            map.next_value_seed(child)?;
        }
        Ok(())
    }
    fn visit_enum<A: serde::de::EnumAccess<'de>>(self, data: A) -> Result<(), A::Error> {
        // A tagged value (`!tag value`): the tag, then the value.
        let (_, variant) = data.variant_seed(self.0)?;
        variant.newtype_variant_seed(self.0)
    }
}

/// A mapping key: counted like any node; a scalar key is also checked against the mapping's
/// other keys, so that a duplicate is reported at its own line (serde would report it at the
/// mapping's first line). Yields the key's text, if it is a scalar.
struct Key<'c, 's> {
    node: Node<'c>,
    seen: &'s RefCell<HashSet<String>>,
}

impl<'de> DeserializeSeed<'de> for Key<'_, '_> {
    type Value = Option<String>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Option<String>, D::Error> {
        d.deserialize_any(self)
    }
}

impl Key<'_, '_> {
    fn scalar<E: serde::de::Error>(self, text: String) -> Result<Option<String>, E> {
        self.node
            .counter
            .charge::<E>(NODE_COST.saturating_add(text.len()))?;
        if !self.seen.borrow_mut().insert(text.clone()) {
            self.node.counter.duplicate.set(true);
            return Err(E::custom(format!(
                "duplicate key `{text}` (a key may appear once in a mapping)"
            )));
        }
        Ok(Some(text))
    }
}

impl<'de> Visitor<'de> for Key<'_, '_> {
    type Value = Option<String>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a mapping key")
    }
    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Option<String>, E> {
        self.scalar(v.to_string())
    }
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Option<String>, E> {
        self.scalar(v.to_string())
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Option<String>, E> {
        self.scalar(v.to_string())
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Option<String>, E> {
        self.scalar(v.to_string())
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Option<String>, E> {
        self.scalar(v.to_string())
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<Option<String>, E> {
        self.scalar("null".to_string())
    }
    fn visit_none<E: serde::de::Error>(self) -> Result<Option<String>, E> {
        self.scalar("null".to_string())
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Option<String>, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Option<String>, A::Error> {
        NodeVisitor(self.node).visit_seq(seq).map(|()| None)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Option<String>, A::Error> {
        NodeVisitor(self.node).visit_map(map).map(|()| None)
    }
    fn visit_enum<A: serde::de::EnumAccess<'de>>(
        self,
        data: A,
    ) -> Result<Option<String>, A::Error> {
        NodeVisitor(self.node).visit_enum(data).map(|()| None)
    }
}

/// The 1-based line of the first alias use (`*name`), for errors about aliases.
fn first_alias_line(text: &str) -> Option<usize> {
    let at = alias_use_offsets(text).next()?;
    Some(text[..at].matches('\n').count() + 1)
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
            line: first_alias_line(text),
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
    alias_use_offsets(text).count()
}

/// Byte offsets of the tokens that look like alias uses (see [`count_alias_uses`]).
fn alias_use_offsets(text: &str) -> impl Iterator<Item = usize> + '_ {
    let bytes = text.as_bytes();
    bytes.iter().enumerate().filter_map(move |(i, &b)| {
        if b != b'*' {
            return None;
        }
        let starts_token = i == 0
            || matches!(
                bytes[i - 1],
                b' ' | b'\t' | b'\n' | b'[' | b'{' | b',' | b':' | b'-'
            );
        let named = bytes
            .get(i + 1)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_');
        (starts_token && named).then_some(i)
    })
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
            line: first_alias_line(text),
            message: format!("YAML uses {aliases} aliases (`*name`), more than its size allows"),
        });
    }
    check_document(
        text,
        EXPANSION_BUDGET.saturating_add(text.len().saturating_mul(4)),
    )?;
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

    /// About 58 KB: under the size cap and under the (alias uses x size) budget, but 30 KB x
    /// 2^levels once expanded.
    fn nested_aliases(levels: usize) -> String {
        let mut text = format!("title: t\npad: [{}]\n", vec!["0"; 13_000].join(","));
        text.push_str(&format!("s: &s \"{}\"\n", "x".repeat(30_000)));
        let mut previous = "s".to_string();
        for level in 1..=levels {
            text.push_str(&format!("l{level}: &l{level} [*{previous}, *{previous}]\n"));
            previous = format!("l{level}");
        }
        text
    }

    #[test]
    fn nested_aliases_are_refused_at_the_line_that_crosses_the_budget() {
        let text = nested_aliases(17);
        assert!(text.len() < MAX_YAML_BYTES);
        let started = std::time::Instant::now();
        let err = from_str::<Fm>(&text).unwrap_err();
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        assert!(err.message.contains("aliases"), "{err:?}");
        let line = err.line.expect("a line");
        let written = text.lines().nth(line - 1).unwrap();
        assert!(
            written.starts_with('l') && written.contains('*'),
            "{written}"
        );
        // The same through the tree reader used for workflows.
        assert!(value_with_merges(&text).is_err());
    }

    #[test]
    fn a_few_levels_of_aliases_still_parse() {
        let text = nested_aliases(3);
        let value: serde_json::Value = from_str(&text).unwrap();
        assert_eq!(value["l3"][1][0][1].as_str().map(str::len), Some(30_000));
        let text = "defaults: &d {a: 1, b: [x, y]}\none: *d\ntwo: *d\n";
        let value: serde_json::Value = from_str(text).unwrap();
        assert_eq!(value["two"]["b"][1], "y");
    }

    #[test]
    fn duplicate_keys_are_refused_at_the_duplicate_line() {
        let err = from_str::<Fm>("title: a\ndraft: true\n\ntitle: b\n").unwrap_err();
        assert_eq!(err.line, Some(4), "{err:?}");
        assert!(err.message.contains("duplicate key `title`"), "{err:?}");
        let err = from_str::<serde_json::Value>("a:\n  x: 1\n  y:\n    - z: 1\n      z: 2\n")
            .unwrap_err();
        assert_eq!(err.line, Some(5), "{err:?}");
        let err = from_str::<serde_json::Value>("{a: 1, b: 2,\n a: 3}\n").unwrap_err();
        assert_eq!(err.line, Some(2), "{err:?}");
        // The same key in two mappings is no duplicate.
        assert!(from_str::<serde_json::Value>("a: {x: 1}\nb: {x: 1}\n").is_ok());
    }

    #[test]
    fn finds_top_level_key_line() {
        let text = "title: a\nnested:\n  titel: b\ntitel: c\n";
        assert_eq!(top_level_key_line(text, "titel"), Some(4));
        assert_eq!(top_level_key_line(text, "missing"), None);
    }
}
