//! File lines of YAML block-structure nodes, by a light scan of the text.
//!
//! serde_yaml's `Value` carries no positions. Workflows are written in block style, so the
//! line of `jobs.<id>.steps[2].run` can be found by following indentation: keys (`key:`),
//! sequence items (`- `) and the lines that belong to a value (block scalars `|`/`>`,
//! multi-line plain or quoted scalars, flow collections) are told apart by their columns.
//! Nodes inside flow collections (`{...}`) or brought in by an alias are not indexed; callers
//! fall back to the nearest indexed ancestor.

use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Entry {
    /// 1-based line of the key or item.
    pub line: usize,
    /// The value is a literal block scalar (`|`, `|-`, `|+`, `|2`): its first content line
    /// is `line + 1`.
    pub literal_block: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Seg {
    Key(String),
    Item(usize),
}

impl Seg {
    fn as_text(&self) -> String {
        match self {
            Seg::Key(k) => k.clone(),
            Seg::Item(i) => i.to_string(),
        }
    }
}

/// Path (keys and item indexes, as text) to line.
#[derive(Debug, Default)]
pub(crate) struct LineIndex {
    map: HashMap<Vec<String>, Entry>,
}

struct Frame {
    col: usize,
    seg: Seg,
}

/// Splits `key: value` (or `key:` at the end); `None` when the text is not a mapping entry.
fn split_key(rest: &str) -> Option<(String, &str)> {
    let b = rest.as_bytes();
    let (key, after) = match b.first()? {
        b'"' | b'\'' => {
            let q = b[0];
            let mut i = 1;
            let mut key = String::new();
            loop {
                let c = *b.get(i)?;
                if c == q {
                    if q == b'\'' && b.get(i + 1) == Some(&b'\'') {
                        key.push('\'');
                        i += 2;
                        continue;
                    }
                    break;
                }
                if q == b'"' && c == b'\\' {
                    i += 1;
                    key.push(*b.get(i)? as char);
                    i += 1;
                    continue;
                }
                let ch = rest[i..].chars().next()?;
                key.push(ch);
                i += ch.len_utf8();
            }
            let after = rest[i + 1..].trim_start_matches([' ', '\t']);
            let after = after.strip_prefix(':')?;
            (key, after)
        }
        b'[' | b'{' | b'#' | b'&' | b'*' | b'!' | b'|' | b'>' | b'?' | b'%' | b'@' | b'`' => {
            return None;
        }
        _ => {
            let mut found = None;
            for (i, c) in rest.char_indices() {
                if c == '#' && i > 0 && rest[..i].ends_with([' ', '\t']) {
                    return None;
                }
                if c == ':' {
                    let next = rest[i + 1..].chars().next();
                    if next.is_none() || next == Some(' ') || next == Some('\t') {
                        found = Some(i);
                        break;
                    }
                }
            }
            let i = found?;
            (rest[..i].trim_end().to_string(), &rest[i + 1..])
        }
    };
    if !(after.is_empty() || after.starts_with([' ', '\t'])) {
        return None;
    }
    Some((key, after))
}

/// What follows a key: nothing (children on the next lines), a block scalar, or an inline
/// value.
enum ValueKind {
    Children,
    Block { literal: bool },
    Inline,
}

fn value_kind(after: &str) -> ValueKind {
    let mut v = after.trim();
    // anchors and tags before the value
    while v.starts_with('&') || v.starts_with('!') {
        match v.find([' ', '\t']) {
            Some(i) => v = v[i..].trim_start(),
            None => v = "",
        }
    }
    if v.is_empty() || v.starts_with('#') {
        ValueKind::Children
    } else if v.starts_with('|') {
        ValueKind::Block { literal: true }
    } else if v.starts_with('>') {
        ValueKind::Block { literal: false }
    } else {
        ValueKind::Inline
    }
}

impl LineIndex {
    pub(crate) fn new(text: &str) -> Self {
        let mut map: HashMap<Vec<String>, Entry> = HashMap::new();
        let mut stack: Vec<Frame> = Vec::new();
        // Lines indented deeper than this column belong to the previous value.
        let mut skip_deeper: Option<usize> = None;
        for (n, raw) in text.lines().enumerate() {
            let line_no = n + 1;
            let content = raw.trim_end();
            if content.trim().is_empty() {
                continue;
            }
            let indent = content.len() - content.trim_start_matches(' ').len();
            if let Some(col) = skip_deeper {
                if indent > col {
                    continue;
                }
                skip_deeper = None;
            }
            let mut rest = &content[indent..];
            if rest.starts_with('#') {
                continue;
            }
            if indent == 0
                && (rest.starts_with("---") || rest.starts_with("...") || rest.starts_with('%'))
            {
                stack.clear();
                continue;
            }
            let mut col = indent;
            loop {
                if rest == "-" || rest.starts_with("- ") || rest.starts_with("-\t") {
                    // a sequence item at `col`
                    let mut next_index = 0;
                    while let Some(top) = stack.last() {
                        if top.col > col {
                            stack.pop();
                        } else if top.col == col && matches!(top.seg, Seg::Item(_)) {
                            if let Some(Frame {
                                seg: Seg::Item(i), ..
                            }) = stack.pop()
                            {
                                next_index = i + 1;
                            }
                        } else {
                            break;
                        }
                    }
                    stack.push(Frame {
                        col,
                        seg: Seg::Item(next_index),
                    });
                    record(&mut map, &stack, line_no, false);
                    let after = &rest[1..];
                    let trimmed = after.trim_start_matches([' ', '\t']);
                    col += 1 + (after.len() - trimmed.len());
                    rest = trimmed;
                    if rest.is_empty() || rest.starts_with('#') {
                        break;
                    }
                    continue;
                }
                if let Some((key, after)) = split_key(rest) {
                    while stack.last().is_some_and(|t| t.col >= col) {
                        stack.pop();
                    }
                    stack.push(Frame {
                        col,
                        seg: Seg::Key(key),
                    });
                    match value_kind(after) {
                        ValueKind::Children => record(&mut map, &stack, line_no, false),
                        ValueKind::Block { literal } => {
                            record(&mut map, &stack, line_no, literal);
                            skip_deeper = Some(col);
                        }
                        ValueKind::Inline => {
                            record(&mut map, &stack, line_no, false);
                            skip_deeper = Some(col);
                        }
                    }
                    break;
                }
                // a scalar or flow item: its continuation lines are deeper than the item
                let item_col = stack.last().map_or(0, |t| t.col);
                skip_deeper = Some(item_col);
                break;
            }
        }
        LineIndex { map }
    }

    /// The entry at `path` (keys, and item indexes written as numbers).
    pub(crate) fn entry_of(&self, path: &[&str]) -> Option<Entry> {
        let key: Vec<String> = path.iter().map(|s| s.to_string()).collect();
        self.map.get(&key).copied()
    }

    /// The line of `path`, if indexed.
    pub(crate) fn line(&self, path: &[&str]) -> Option<usize> {
        self.entry_of(path).map(|e| e.line)
    }
}

fn record(map: &mut HashMap<Vec<String>, Entry>, stack: &[Frame], line: usize, literal: bool) {
    let path: Vec<String> = stack.iter().map(|f| f.seg.as_text()).collect();
    map.entry(path).or_insert(Entry {
        line,
        literal_block: literal,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_structure_lines() {
        let text = "\
name: x
on: push
jobs:
  smoke:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - name: Smoke
        run: |
          echo start
          scripts/smoke.sh
        if: always()
  'deploy':
    needs: [smoke]
    steps:
    - run: >
        echo a:
        b
      name: deploy
    -   name: two
        run: echo 'x: y'
          continued: no
        id: two
";
        let ix = LineIndex::new(text);
        assert_eq!(ix.line(&["jobs"]), Some(3));
        assert_eq!(ix.line(&["jobs", "smoke"]), Some(4));
        assert_eq!(ix.line(&["jobs", "smoke", "steps", "0"]), Some(7));
        assert_eq!(ix.line(&["jobs", "smoke", "steps", "1"]), Some(8));
        let run = ix
            .entry_of(&["jobs", "smoke", "steps", "1", "run"])
            .unwrap();
        assert_eq!(
            run,
            Entry {
                line: 9,
                literal_block: true
            }
        );
        assert_eq!(ix.line(&["jobs", "smoke", "steps", "1", "if"]), Some(12));
        assert_eq!(ix.line(&["jobs", "deploy"]), Some(13));
        assert_eq!(ix.line(&["jobs", "deploy", "needs"]), Some(14));
        assert_eq!(ix.line(&["jobs", "deploy", "steps", "0"]), Some(16));
        assert_eq!(ix.line(&["jobs", "deploy", "steps", "0", "name"]), Some(19));
        assert_eq!(ix.line(&["jobs", "deploy", "steps", "1"]), Some(20));
        assert_eq!(ix.line(&["jobs", "deploy", "steps", "1", "id"]), Some(23));
        assert_eq!(
            ix.line(&["jobs", "deploy", "steps", "1", "continued"]),
            None
        );
    }
}
