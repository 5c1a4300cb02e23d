//! Which lines of code refer to a feature flag's key, and what value they give it.
//!
//! Everything is judged one line at a time; a line is a reference when it names the key as a
//! whole identifier and is not entirely a comment.

const OFF: &[&str] = &["false", "off", "0", "disabled", "no"];
const ON: &[&str] = &["true", "on", "1", "enabled", "yes"];

/// A line that is entirely a comment: after leading spaces it starts with `#`, `//`, `--`,
/// `;`, `/*`, `*` or `<!--`.
pub(crate) fn is_comment_line(line: &str) -> bool {
    let line = line.trim_start();
    // A block comment closed on the line with code after it (`/* x */ flag = on`) is code.
    for (open, close) in [("/*", "*/"), ("<!--", "-->")] {
        if let Some(rest) = line.strip_prefix(open) {
            return rest
                .split_once(close)
                .is_none_or(|(_, after)| after.trim().is_empty());
        }
    }
    // `#[cfg(feature = "x")]` (Rust attributes) and `#ifdef X` (C preprocessor) are code.
    if let Some(rest) = line.strip_prefix('#') {
        let word: String = rest.chars().take_while(char::is_ascii_alphabetic).collect();
        if rest.starts_with('[')
            || rest.starts_with("![")
            || [
                "if", "ifdef", "ifndef", "elif", "else", "endif", "define", "undef",
            ]
            .contains(&word.as_str())
        {
            return false;
        }
        return true;
    }
    ["//", "--", ";", "*"].iter().any(|p| line.starts_with(p))
}

/// Characters of an identifier. `.` is not one (`flags.new_checkout` names the key) and `-` is
/// decided where it stands, see `continues_name`.
fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Does the character `beside` the key (then `beyond` it) continue the key's name? A `-` between
/// identifier characters joins a kebab-case name (`new_checkout-banner`, `enable-new_checkout`),
/// while `--new_checkout` (a command-line flag) still names the key.
fn continues_name(beside: Option<char>, beyond: Option<char>) -> bool {
    match beside {
        Some('-') => beyond.is_some_and(is_ident),
        Some(c) => is_ident(c),
        None => false,
    }
}

/// Byte offsets where `key` occurs as a whole identifier, case-sensitively.
fn occurrences<'a>(line: &'a str, key: &'a str) -> impl Iterator<Item = usize> + 'a {
    whole_identifier_hits(line.as_bytes(), key)
}

/// The lines of `text` (a whole file's bytes) that refer to `key` ([`is_reference`]), trimmed,
/// in the file's order, a line as many times as it is there; `None` when the text does not name
/// the key at all, not even in a comment. The lines are found from where the key is in the
/// bytes, so a file of any size costs one byte search. A line ends at `\n` or `\r` (a lone
/// `\r` ends one in old Mac files, and YAML and Python read it so).
pub(crate) fn reference_lines(text: &[u8], key: &str) -> Option<Vec<String>> {
    let mut hits = whole_identifier_hits(text, key).peekable();
    hits.peek()?;
    let mut lines = Vec::new();
    // Where the line of the last hit ends: later hits before it are on the same line.
    let mut line_end = 0;
    for at in hits {
        if at < line_end {
            continue;
        }
        let start = memchr::memrchr2(b'\n', b'\r', &text[..at]).map_or(0, |i| i + 1);
        line_end = memchr::memchr2(b'\n', b'\r', &text[at..]).map_or(text.len(), |i| at + i);
        let line = String::from_utf8_lossy(&text[start..line_end]);
        if is_reference(&line, key) {
            lines.push(line.trim().to_string());
        }
    }
    Some(lines)
}

/// Byte offsets of `key` in `text` where the bytes around it do not continue its name. The
/// name characters are all ASCII, so looking at bytes sees what looking at characters would:
/// any byte of a non-ASCII character, and a line end, continues no name.
fn whole_identifier_hits<'a>(text: &'a [u8], key: &'a str) -> impl Iterator<Item = usize> + 'a {
    let byte = move |at: Option<usize>| at.and_then(|i| text.get(i)).map(|&b| char::from(b));
    memchr::memmem::find_iter(text, key.as_bytes()).filter(move |&at| {
        let end = at + key.len();
        !key.is_empty()
            && !continues_name(byte(at.checked_sub(1)), byte(at.checked_sub(2)))
            && !continues_name(byte(Some(end)), byte(Some(end + 1)))
    })
}

/// The line names `key` as a whole identifier: `flags.new_checkout`, `"new_checkout"`,
/// `new_checkout:`, but not `new_checkout_banner`, `NEW_CHECKOUTS` or `xnew_checkout`.
pub(crate) fn mentions(line: &str, key: &str) -> bool {
    occurrences(line, key).next().is_some()
}

/// A reference line names the key and is not entirely a comment.
pub(crate) fn is_reference(line: &str, key: &str) -> bool {
    mentions(line, key) && !is_comment_line(line)
}

/// The value the line gives the key: the first word after its first whole-identifier occurrence,
/// past separators (`new_checkout: false`, `"new_checkout" => true,`, `set("new_checkout", 0)`).
/// A trailing comment that names the key again is ignored.
pub(crate) fn value_of(line: &str, key: &str) -> Option<bool> {
    let at = occurrences(line, key).next()? + key.len();
    let rest =
        line[at..].trim_start_matches(|c: char| c.is_whitespace() || "\"'`:=>,()[]".contains(c));
    // Whole words only: `false_start` or `0.5` are not off.
    let word = rest
        .split(|c: char| !(is_ident(c) || c == '.' || c == '-'))
        .next()?
        .to_ascii_lowercase();
    if OFF.contains(&word.as_str()) {
        Some(false)
    } else if ON.contains(&word.as_str()) {
        Some(true)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    /// The lines found from where the key is in the bytes are the lines of the file, split at
    /// `\n` and `\r`, that refer to the key: the same lines, as often, in the same order.
    #[test]
    fn reference_lines_are_the_file_s_lines_that_refer_to_the_key() {
        let pieces: [&[u8]; 16] = [
            b"flags.new_checkout = true",
            b"new_checkout_v2: true",
            b"enable-new_checkout",
            b"  --new_checkout  ",
            "été_new_checkout".as_bytes(),
            b"x-new_checkout-",
            b"(new_checkout) new_checkout",
            b"NEW_CHECKOUT",
            b"# new_checkout: off",
            b"/* new_checkout */ x",
            b"\xff\xfenew_checkout\xc3",
            b"new_checkout",
            b"\n",
            b"\r",
            b"\r\n",
            b"",
        ];
        let mut seed = 3u64;
        for _ in 0..5_000 {
            let mut text = Vec::new();
            for _ in 0..(seed % 7) {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                text.extend_from_slice(pieces[(seed >> 33) as usize % pieces.len()]);
            }
            seed = seed.wrapping_add(1);
            let lossy = String::from_utf8_lossy(&text);
            let expected = lossy
                .split(['\n', '\r'])
                .any(|l| mentions(l, KEY))
                .then(|| {
                    lossy
                        .split(['\n', '\r'])
                        .filter(|l| is_reference(l, KEY))
                        .map(|l| l.trim().to_string())
                        .collect::<Vec<_>>()
                });
            assert_eq!(reference_lines(&text, KEY), expected, "{lossy:?}");
        }
    }

    use super::*;

    const KEY: &str = "new_checkout";

    #[test]
    fn comment_lines() {
        let table: &[(&str, bool)] = &[
            ("# new_checkout: false", true),
            ("    // if (flags.new_checkout) {", true),
            ("-- new_checkout", true),
            ("; new_checkout = off", true),
            ("/* new_checkout */", true),
            (" * new_checkout is on", true),
            ("<!-- new_checkout -->", true),
            ("/* start of a block", true),
            ("\t#new_checkout", true),
            ("new_checkout: false  # comment", false),
            ("if flags.new_checkout: # comment", false),
            ("/* why */ new_checkout = false;", false),
            ("<!-- why --> <div data-flag=\"new_checkout\">", false),
            ("#[cfg(feature = \"new_checkout\")]", false),
            ("#![cfg(feature = \"new_checkout\")]", false),
            ("#ifdef NEW_CHECKOUT", false),
            ("#define new_checkout 0", false),
            ("", false),
            ("   ", false),
            ("x = a / b", false),
        ];
        for (line, expected) in table {
            assert_eq!(is_comment_line(line), *expected, "{line:?}");
        }
    }

    #[test]
    fn whole_identifier_mentions() {
        let table: &[(&str, bool)] = &[
            ("new_checkout: false", true),
            ("\"new_checkout\": true,", true),
            ("if flags.new_checkout:", true),
            ("isEnabled('new_checkout')", true),
            ("flags[:new_checkout]", true),
            ("$new_checkout = false;", true),
            ("--new_checkout=true", true),
            ("new_checkout.enabled = true", true),
            ("x=new_checkout", true),
            ("new_checkout_banner: true", false),
            ("NEW_CHECKOUT=false", false),
            ("NEW_CHECKOUTS", false),
            ("xnew_checkout", false),
            ("new_checkout2", false),
            ("new_checkout-banner: true", false),
            ("enable-new_checkout: true", false),
            ("new-checkout: true", false),
            ("newcheckout", false),
            ("", false),
        ];
        for (line, expected) in table {
            assert_eq!(mentions(line, KEY), *expected, "{line:?}");
        }
        // A later whole occurrence counts even after a partial one.
        assert!(mentions("new_checkout_banner || new_checkout", KEY));
        assert!(mentions("new-checkout: true", "new-checkout"));
        assert!(!mentions("new-checkout-banner: true", "new-checkout"));
        assert!(!mentions("anything", ""));
    }

    #[test]
    fn references_are_mentions_outside_comments() {
        let table: &[(&str, bool)] = &[
            ("new_checkout: false", true),
            ("  if flags.new_checkout:", true),
            ("new_checkout: false  # TODO: delete new_checkout", true),
            ("# TODO: delete new_checkout", false),
            ("// new_checkout", false),
            ("new_checkout_banner: true", false),
        ];
        for (line, expected) in table {
            assert_eq!(is_reference(line, KEY), *expected, "{line:?}");
        }
    }

    #[test]
    fn values_after_the_first_occurrence() {
        let table: &[(&str, Option<bool>)] = &[
            ("new_checkout: false", Some(false)),
            (
                "new_checkout: false  # TODO: delete new_checkout after launch",
                Some(false),
            ),
            ("\"new_checkout\": true,", Some(true)),
            ("\"new_checkout\" = true,", Some(true)),
            ("'new_checkout' => false,", Some(false)),
            ("new_checkout = off", Some(false)),
            ("new_checkout=0", Some(false)),
            ("new_checkout: 1", Some(true)),
            ("new_checkout: disabled  # until launch", Some(false)),
            ("new_checkout: Enabled", Some(true)),
            ("NEW_CHECKOUT: yes", None),
            ("new_checkout: no", Some(false)),
            ("new_checkout: \"False\"", Some(false)),
            ("flags[:new_checkout] = true", Some(true)),
            ("flags[\"new_checkout\"] = false", Some(false)),
            ("setFlag(\"new_checkout\", false)", Some(false)),
            ("--new_checkout=true", Some(true)),
            ("new_checkout_banner: true", None),
            (
                "new_checkout_banner: true, new_checkout: false",
                Some(false),
            ),
            ("NEW_CHECKOUT=false", None),
            ("if flags.new_checkout:", None),
            ("if flags.enabled(\"new_checkout\"):", None),
            ("isEnabled('new_checkout')", None),
            (
                "new_checkout = ENV.fetch(\"NEW_CHECKOUT\", \"false\")",
                None,
            ),
            ("new_checkout: false_start", None),
            ("new_checkout: 0.5", None),
            ("new_checkout != false", None),
            ("new_checkout: { enabled: false }", None),
            ("new_checkout:", None),
            ("no flag here: false", None),
        ];
        for (line, expected) in table {
            assert_eq!(value_of(line, KEY), *expected, "{line:?}");
        }
    }

    #[test]
    fn counting_references_in_a_file() {
        let text = "\
# new_checkout guards the new flow
flags:
  new_checkout: false   # new_checkout again
  new_checkout_banner: true
def checkout():
    if flags.new_checkout:
        return new_flow()
    // new_checkout
";
        let table: &[(&str, &str, usize)] = &[
            (text, KEY, 2),
            (text, "new_checkout_banner", 1),
            (text, "NEW_CHECKOUT", 0),
            ("", KEY, 0),
            ("new_checkout\r\nnew_checkout\r\n", KEY, 2),
        ];
        for (text, key, expected) in table {
            let count = text.lines().filter(|l| is_reference(l, key)).count();
            assert_eq!(count, *expected, "{key} in {text:?}");
        }
    }
}
