//! Commits parsed from their raw bytes, read through the object database: the walk needs a
//! commit's tree, parents, committer time, author name and summary once, and libgit2's
//! `find_commit` parses every header into owned strings and keeps the parsed commit in the
//! repository's object cache, which costs more CPU than the parse (and most of the walk's
//! memory). The parse follows libgit2's (`commit.c`, `signature.c`, `git_commit_summary`) and
//! gives up on anything it does not handle exactly the same way: the caller then asks libgit2.

use git2::Oid;

use super::Id;

/// The fields of a commit the walk keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Parsed {
    pub tree: Oid,
    pub parents: Vec<Id>,
    pub author: String,
    pub time: i64,
    pub offset_minutes: i32,
    pub summary: String,
}

/// The tree a raw commit names on its first line, the one header every commit has.
pub(crate) fn tree_of(data: &[u8]) -> Option<Oid> {
    let mut rest = data;
    hex_id(next_line(&mut rest)?.strip_prefix(b"tree ")?)
}

/// Parses a raw commit, or `None` when it holds anything this parse might read differently
/// from libgit2: a NUL byte, a header out of the usual order, a second author, a signature
/// whose date is not `<seconds> <+|-><hhmm>`.
pub(crate) fn parse(data: &[u8]) -> Option<Parsed> {
    // libgit2 copies names and the message as C strings: a NUL would cut them short.
    if memchr::memchr(0, data).is_some() {
        return None;
    }
    let mut rest = data;
    let tree = hex_id(next_line(&mut rest)?.strip_prefix(b"tree ")?)?;
    let mut parents = Vec::new();
    let mut line = next_line(&mut rest)?;
    while let Some(id) = line.strip_prefix(b"parent ") {
        parents.push(Id::from(hex_id(id)?));
        line = next_line(&mut rest)?;
    }
    let (author, _, _) = signature(line.strip_prefix(b"author ")?)?;
    // A second `author` line (which libgit2 skips) fails here and goes to libgit2.
    let (_, time, offset_minutes) = signature(next_line(&mut rest)?.strip_prefix(b"committer ")?)?;
    // Other headers (encoding, gpgsig and its continuation lines, mergetag) up to the blank
    // line; the message follows it.
    let message = loop {
        match memchr::memchr(b'\n', rest) {
            _ if rest.is_empty() => break rest,
            Some(0) => break &rest[1..],
            Some(end) => rest = &rest[end + 1..],
            // A last header without a newline: libgit2's message is then empty; not worth a
            // second copy of its rules.
            None => return None,
        }
    };
    Some(Parsed {
        tree,
        parents,
        author: utf8(author),
        time,
        offset_minutes,
        summary: utf8(summary(message)),
    })
}

/// git2 answers `None` for a name or summary that is not UTF-8; the walk stores "" then.
fn utf8(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_default()
}

fn next_line<'a>(rest: &mut &'a [u8]) -> Option<&'a [u8]> {
    let end = memchr::memchr(b'\n', rest)?;
    let line = &rest[..end];
    *rest = &rest[end + 1..];
    Some(line)
}

fn hex_id(hex: &[u8]) -> Option<Oid> {
    if hex.len() != 40 {
        return None;
    }
    Oid::from_str(std::str::from_utf8(hex).ok()?).ok()
}

/// libgit2's `is_crud`: what it trims from both ends of a name.
fn is_crud(c: u8) -> bool {
    c <= 32 || b",:;<>\"\\'".contains(&c)
}

/// `Name <email> 1700000000 +0100` → (name, seconds, offset in minutes), as
/// `git_signature__parse` reads it; `None` for any other shape of date.
fn signature(line: &[u8]) -> Option<(Vec<u8>, i64, i32)> {
    let open = memchr::memrchr(b'<', line)?;
    let close = memchr::memrchr(b'>', line)?;
    if close <= open {
        return None;
    }
    let mut name = &line[..open];
    while let [first, tail @ ..] = name {
        if !is_crud(*first) {
            break;
        }
        name = tail;
    }
    while let [head @ .., last] = name {
        if !is_crud(*last) {
            break;
        }
        name = head;
    }
    let date = line[close + 1..].strip_prefix(b" ")?;
    let space = memchr::memchr(b' ', date)?;
    let (seconds, zone) = (&date[..space], &date[space + 1..]);
    if seconds.is_empty() || seconds.len() > 18 || !seconds.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let time = seconds
        .iter()
        .fold(0i64, |t, d| t * 10 + i64::from(d - b'0'));
    let [sign @ (b'+' | b'-'), digits @ ..] = zone else {
        return None;
    };
    if digits.len() != 4 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let zone = digits
        .iter()
        .fold(0i32, |z, d| z * 10 + i32::from(d - b'0'));
    let (hours, minutes) = (zone / 100, zone % 100);
    // libgit2 keeps an offset only when it is a real one, and 0 otherwise.
    let offset = if hours <= 14 && minutes <= 59 {
        let offset = hours * 60 + minutes;
        if *sign == b'-' {
            -offset
        } else {
            offset
        }
    } else {
        0
    };
    Some((name.to_vec(), time, offset))
}

/// `git_commit_summary`: the first paragraph of the message (past leading newlines), each run of
/// whitespace that holds a newline squashed to one space, trailing whitespace dropped.
fn summary(message: &[u8]) -> Vec<u8> {
    let start = message
        .iter()
        .position(|&c| c != b'\n')
        .unwrap_or(message.len());
    let message = &message[start..];
    let is_space = |c: u8| matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r');
    let mut out = Vec::new();
    let mut space: Option<(usize, bool)> = None;
    for (i, &c) in message.iter().enumerate() {
        if c == b'\n' {
            // The paragraph ends at a line that is empty or only whitespace.
            let next = &message[i + 1..];
            let blank = next
                .iter()
                .position(|&n| !(is_space(n) && n != b'\n'))
                .is_none_or(|p| next[p] == b'\n');
            if blank {
                break;
            }
        }
        if is_space(c) {
            let run = space.get_or_insert((i, false));
            run.1 |= c == b'\n';
        } else {
            if let Some((from, newline)) = space.take() {
                if newline {
                    out.push(b' ');
                } else {
                    out.extend_from_slice(&message[from..i]);
                }
            }
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use git2::{ObjectType, Repository};

    const TREE: &str = "4b825dc642cb6eb9a060e54bf8d69288fbe4904b";
    const PARENT: &str = "1111111111111111111111111111111111111111";

    fn commit(author: &[u8], committer: &[u8], extra: &[u8], message: &[u8]) -> Vec<u8> {
        let mut raw = format!("tree {TREE}\nparent {PARENT}\n").into_bytes();
        for (header, value) in [(&b"author "[..], author), (b"committer ", committer)] {
            raw.extend_from_slice(header);
            raw.extend_from_slice(value);
            raw.push(b'\n');
        }
        raw.extend_from_slice(extra);
        raw.extend_from_slice(message);
        raw
    }

    /// Every commit below, written to a repository: where `parse` answers, it answers what
    /// libgit2 does.
    #[test]
    fn parses_as_libgit2_does() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let sig = b"Ada Lovelace <ada@example.org> 1700000000 +0100";
        let cases: Vec<(Vec<u8>, bool)> = vec![
            (commit(sig, sig, b"\n", b"Add the flag\n"), true),
            (commit(sig, sig, b"\n", b"\n\nLeading blank lines\n\nbody\n"), true),
            (commit(sig, sig, b"\n", b"Two lines\nof subject\n\nbody\n"), true),
            (commit(sig, sig, b"\n", b"Ends at a blank line\n \t \nbody\n"), true),
            (commit(sig, sig, b"\n", b"Keeps  inner\tspace   \n"), true),
            (commit(sig, sig, b"\n", b"CRLF subject\r\n\r\nbody\r\n"), true),
            (commit(sig, sig, b"\n", b"wrapped\r\nline\r\n"), true),
            (commit(sig, sig, b"\n", b""), true),
            (commit(sig, sig, b"", b""), true),
            (commit(sig, sig, b"\n", b"   \n"), true),
            (commit(sig, sig, b"\n", "Unicode → ok ✓\n".as_bytes()), true),
            (commit(sig, sig, b"\n", b"not utf-8 \xff\xfe\n"), true),
            (
                commit(
                    sig,
                    sig,
                    b"encoding ISO-8859-1\ngpgsig -----BEGIN PGP SIGNATURE-----\n \n abc\n -----END PGP SIGNATURE-----\n\n",
                    b"Signed\n",
                ),
                true,
            ),
            (
                commit(b" ..Ada, Lovelace;  <ada@example.org> 1700000000 -0130", sig, b"\n", b"x\n"),
                true,
            ),
            (commit(b"\xffAda <a@b> 1 +0000", sig, b"\n", b"x\n"), true),
            (commit(b"<a@b> 1 +0000", sig, b"\n", b"x\n"), true),
            (commit(sig, b"C <c@d> 1700000000 +1460", b"\n", b"x\n"), true),
            (commit(sig, b"C <c@d> 1700000000 -1500", b"\n", b"x\n"), true),
            (commit(sig, b"C <c@d> 1700000000 +9999", b"\n", b"x\n"), true),
            (commit(sig, b"C <c> <d> 17 +0200", b"\n", b"x\n"), true),
            // Shapes left to libgit2.
            (commit(sig, b"C <c@d> 1700000000", b"\n", b"x\n"), false),
            (commit(sig, b"C <c@d>", b"\n", b"x\n"), false),
            (commit(sig, b"C <c@d> 1700000000 +01", b"\n", b"x\n"), false),
            (commit(sig, b"C <c@d>  1700000000 +0100", b"\n", b"x\n"), false),
            (commit(sig, sig, b"\n", b"nul \0 inside\n"), false),
            (commit(sig, sig, b"encoding x", b""), false),
            (
                commit(&[&sig[..], b"\nauthor ", sig].concat(), sig, b"\n", b"x\n"),
                false,
            ),
        ];
        for (raw, handled) in cases {
            let shown = String::from_utf8_lossy(&raw).into_owned();
            let id = repo.odb().unwrap().write(ObjectType::Commit, &raw).unwrap();
            let parsed = parse(&raw);
            assert_eq!(parsed.is_some(), handled, "{shown:?}");
            assert_eq!(tree_of(&raw), Some(Oid::from_str(TREE).unwrap()));
            let Some(parsed) = parsed else { continue };
            let commit = repo.find_commit(id).unwrap();
            let expected = Parsed {
                tree: commit.tree_id(),
                parents: commit.parent_ids().map(Id::from).collect(),
                author: commit.author().name().unwrap_or("").to_string(),
                time: commit.committer().when().seconds(),
                offset_minutes: commit.committer().when().offset_minutes(),
                summary: commit.summary().unwrap_or("").to_string(),
            };
            assert_eq!(parsed, expected, "{shown:?}");
        }
    }
}
