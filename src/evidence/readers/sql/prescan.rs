//! The text prescan: a linear pass over the raw SQL that runs before the parser. It blanks
//! comments (so `-- squawk-ignore` cannot silence a rule), keeps over-deep statements away from
//! the parser, and holds the small text helpers (line numbers, excerpts) the other parts share.

use super::MAX_NESTING;

/// Longest excerpt of SQL quoted in a reason.
const SNIPPET_CHARS: usize = 80;

pub(crate) fn strip_semicolon(text: &str) -> &str {
    let text = text.trim();
    text.strip_suffix(';').unwrap_or(text).trim_end()
}

/// A one-line excerpt: whitespace collapsed, at most [`SNIPPET_CHARS`] characters.
pub(crate) fn snippet(text: &str) -> String {
    let mut out = String::new();
    let mut count = 0;
    for word in strip_semicolon(text).split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
            count += 1;
        }
        for c in word.chars() {
            if count >= SNIPPET_CHARS {
                out.push('…');
                return out;
            }
            out.push(if c == '`' { '\'' } else { c });
            count += 1;
        }
    }
    out
}

/// Byte offsets of line starts, for 1-based line numbers.
pub(crate) struct LineIndex {
    newlines: Vec<usize>,
}

impl LineIndex {
    pub(crate) fn new(text: &str) -> Self {
        LineIndex {
            newlines: text
                .bytes()
                .enumerate()
                .filter(|&(_, b)| b == b'\n')
                .map(|(i, _)| i)
                .collect(),
        }
    }

    pub(crate) fn line(&self, offset: usize) -> usize {
        self.newlines.partition_point(|&n| n < offset) + 1
    }
}

/// What the pre-scan found: the text the parser sees and the statements kept from it.
pub(crate) struct Prescan {
    /// The input with comments blanked (so `squawk-ignore` comments cannot silence a rule) and
    /// over-deep statements blanked; newlines are kept so byte offsets and lines match.
    pub(crate) sanitized: String,
    /// Byte ranges (first significant byte to the `;`) of statements nested too deeply.
    pub(crate) too_deep: Vec<(usize, usize)>,
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

/// A linear scan that respects quotes, dollar quoting and (nested) comments: blanks comments,
/// and measures each `;`-separated chunk's nesting so the parser never sees pathological input.
pub(crate) fn prescan(sql: &str) -> Prescan {
    let b = sql.as_bytes();
    let n = b.len();
    let mut out = b.to_vec();
    let mut too_deep = Vec::new();
    let blank = |out: &mut Vec<u8>, from: usize, to: usize| {
        for byte in &mut out[from..to] {
            if *byte != b'\n' {
                *byte = b' ';
            }
        }
    };

    let mut i = 0;
    let mut chunk_first: Option<usize> = None;
    let (mut depth, mut case_depth, mut run) = (0usize, 0usize, 0usize);
    let mut too_complex = false;
    let mut end_chunk = |end: usize, first: &mut Option<usize>, too_complex: &mut bool| {
        if let (true, Some(start)) = (*too_complex, *first) {
            too_deep.push((start, end));
        }
        *first = None;
        *too_complex = false;
    };
    while i < n {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b'-' && next == Some(b'-') {
            let end = b[i..].iter().position(|&x| x == b'\n').map_or(n, |p| i + p);
            blank(&mut out, i, end);
            i = end;
            continue;
        }
        if c == b'/' && next == Some(b'*') {
            let mut level = 0usize;
            let mut j = i;
            while j < n {
                if b[j] == b'/' && b.get(j + 1) == Some(&b'*') {
                    level += 1;
                    j += 2;
                } else if b[j] == b'*' && b.get(j + 1) == Some(&b'/') {
                    level -= 1;
                    j += 2;
                    if level == 0 {
                        break;
                    }
                } else {
                    j += 1;
                }
            }
            let end = j.min(n);
            blank(&mut out, i, end);
            i = end;
            continue;
        }
        if chunk_first.is_none() {
            chunk_first = Some(i);
        }
        match c {
            b';' => {
                end_chunk(i + 1, &mut chunk_first, &mut too_complex);
                depth = 0;
                case_depth = 0;
                run = 0;
                i += 1;
            }
            b'\'' => {
                let backslashes = i >= 1
                    && matches!(b[i - 1], b'e' | b'E')
                    && (i < 2 || !is_ident_byte(b[i - 2]));
                let mut j = i + 1;
                while j < n {
                    if backslashes && b[j] == b'\\' {
                        j += 2;
                    } else if b[j] == b'\'' {
                        if b.get(j + 1) == Some(&b'\'') {
                            j += 2;
                        } else {
                            break;
                        }
                    } else {
                        j += 1;
                    }
                }
                i = (j + 1).min(n);
                run = 0;
            }
            b'"' => {
                let mut j = i + 1;
                while j < n {
                    if b[j] == b'"' {
                        if b.get(j + 1) == Some(&b'"') {
                            j += 2;
                        } else {
                            break;
                        }
                    } else {
                        j += 1;
                    }
                }
                i = (j + 1).min(n);
                run = 0;
            }
            b'$' if i == 0 || !is_ident_byte(b[i - 1]) => {
                // `$tag$ … $tag$` (tag may be empty); `$1` is a parameter.
                let mut j = i + 1;
                if j < n && !b[j].is_ascii_digit() {
                    while j < n && is_ident_byte(b[j]) {
                        j += 1;
                    }
                }
                if j < n && b[j] == b'$' && (j == i + 1 || !b[i + 1].is_ascii_digit()) {
                    let tag = &sql[i..=j];
                    i = sql[j + 1..].find(tag).map_or(n, |p| j + 1 + p + tag.len());
                } else {
                    i = j.max(i + 1);
                }
                run = 0;
            }
            b'(' | b'[' => {
                depth += 1;
                run = 0;
                i += 1;
            }
            b')' | b']' => {
                depth = depth.saturating_sub(1);
                run = 0;
                i += 1;
            }
            _ if is_ident_byte(c) && !c.is_ascii_digit() => {
                let start = i;
                while i < n && (is_ident_byte(b[i]) || b[i] == b'$') {
                    i += 1;
                }
                let word = &b[start..i];
                if word.eq_ignore_ascii_case(b"case") {
                    case_depth += 1;
                    run = 0;
                } else if word.eq_ignore_ascii_case(b"end") {
                    case_depth = case_depth.saturating_sub(1);
                    run = 0;
                } else if word.eq_ignore_ascii_case(b"not") {
                    run += 1;
                } else {
                    run = 0;
                }
            }
            b'+' | b'-' | b'*' | b'/' | b'<' | b'>' | b'=' | b'~' | b'!' | b'@' | b'#' | b'%'
            | b'^' | b'&' | b'|' | b'`' | b'?' => {
                // One operator token; a `--` or `/*` inside it starts a comment.
                i += 1;
                while i < n && b"+-*/<>=~!@#%^&|`?".contains(&b[i]) {
                    if b[i] == b'-' && b.get(i + 1) == Some(&b'-') {
                        break;
                    }
                    if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                        break;
                    }
                    i += 1;
                }
                run += 1;
            }
            _ => {
                run = 0;
                i += 1;
            }
        }
        if depth + case_depth > MAX_NESTING || run > MAX_NESTING {
            too_complex = true;
        }
    }
    end_chunk(n, &mut chunk_first, &mut too_complex);
    for &(start, end) in &too_deep {
        blank(&mut out, start, end);
    }
    // Only whole ASCII-delimited ranges were blanked byte by byte, so this is valid UTF-8.
    let sanitized = String::from_utf8(out).unwrap_or_else(|e| {
        String::from_utf8_lossy(e.as_bytes())
            .chars()
            .map(|c| if c == '\n' { '\n' } else { ' ' })
            .collect()
    });
    Prescan {
        sanitized,
        too_deep,
    }
}
