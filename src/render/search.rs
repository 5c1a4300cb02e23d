//! The full-text search index: every handbook page and every portfolio page, as plain text, in
//! an [elasticlunr](https://github.com/weixsong/elasticlunr.js) index that the browser loads from
//! `search-index.json` (no server: the site stays static and works offline).
//!
//! Why elasticlunr: it is what mdBook and Zola ship, elasticlunr-rs's only dependencies (regex,
//! serde) are already in the tree, and the index is made in-process from text the render already
//! has. Pagefind is the better-maintained engine, but its crate pulls in tokio, actix-web,
//! lol_html and thirty-odd other crates and re-parses every written page.
//!
//! elasticlunr-rs gives the words their terms (its English pipeline: trimmer, stop words,
//! stemmer), but its `Index` is not built: it holds a tree node per character of every term and
//! a string and a float per (term, page) pair, 317 MiB with its JSON text for the 10,000-page
//! benchmark corpus. Pages keep their terms as numbers ([`Field`]) and [`write_index`] writes
//! elasticlunr.js's format from them, the same bytes as elasticlunr-rs's `Index::to_json`,
//! which the tests keep as the oracle. The measured index size
//! and build cost are in `content/reference/search.md`.
//!
//! The index holds text only: tags are stripped here, and the browser inserts titles and snippets
//! with `textContent`, so nothing in a page (a student's write-up included) becomes markup there.

use std::cell::RefCell;
use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::load::urls::Urls;

/// Pages rendered between two calls of [`return_freed_memory`].
pub(crate) const TRIM_EVERY: usize = 256;

/// Gives the memory that the render threads freed back to the system. The pages' documents
/// outlive the render and are allocated by its threads, each in its own glibc arena, among what
/// the render frees; glibc returns an arena's memory only from its top, so they hold it there:
/// on the 10,000-page benchmark the build's peak grew by 12 MiB over a build without search, by
/// 3 MiB with one arena. Called every [`TRIM_EVERY`] pages while documents are kept, and before
/// the index is written; elsewhere than glibc it does nothing.
pub(crate) fn return_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory; it takes no pointer and may run at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// The file the index is written to, at the site root (fetched relative to the base path).
pub(crate) const INDEX_FILE: &str = "search-index.json";
/// Characters of each page's text kept for its result's snippet: enough for two lines, and
/// small enough that the index of a 10,000-page site stays a few megabytes.
const SNIPPET_CHARS: usize = 240;
/// Elements whose text is not prose: drawings, code that runs, and templates.
const SKIPPED: &[&str] = &["svg", "script", "style", "template"];
/// The attribute that keeps an element (without the same element nested in it) out of the
/// index.
const SKIP_ATTRIBUTE: &str = "data-search-skip";
/// The start of the `#` link the Markdown renderer puts in every heading.
const HEADING_ANCHOR: &str = "a class=\"anchor\"";

/// One page as the index sees it: what a result shows, and its terms, ready for the index.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Doc {
    /// The page's site path (`patterns/expand-contract/`).
    pub(crate) path: String,
    pub(crate) title: String,
    /// The start of the page's text, shown under its title in the results.
    pub(crate) snippet: String,
    /// The title's and the text's terms (stemmed, stop words and bare numbers left out), in
    /// [`FIELDS`] order.
    fields: [Field; 2],
    /// A digest of what the document was made from (its path, title and text): two documents
    /// with the same key are the same, whatever vocabulary numbered their terms.
    key: u128,
}

/// A document as the build cache keeps it between builds: its fields as [`Field`] encodes
/// them, numbered in the vocabulary stored at the head of the store ([`write_store`]), since
/// numbers belong to one build's [`Vocabulary`].
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub(crate) struct StoredDoc {
    pub(crate) path: String,
    pub(crate) key: u128,
    title: String,
    snippet: String,
    /// Each field's length and its encoded (term, count) pairs.
    fields: [(u32, Vec<u8>); 2],
}

/// [`StoredDoc`] as it is written: borrowed from the document (the same encoding).
#[derive(serde::Serialize)]
struct StoringDoc<'a> {
    path: &'a str,
    key: u128,
    title: &'a str,
    snippet: &'a str,
    fields: [(u32, &'a [u8]); 2],
}

/// Writes the build cache's store of `docs`: the vocabulary's terms, by number, then each
/// document, each encoded on its own (read back one at a time by [`read_store`]).
pub(crate) fn write_store<'a>(
    docs: impl Iterator<Item = &'a Doc>,
    vocabulary: &Vocabulary,
    out: &mut dyn Write,
) -> io::Result<()> {
    let encode = |e: postcard::Error| io::Error::other(e);
    vocabulary.with_terms(|terms| postcard::to_io(terms, &mut *out).map(drop).map_err(encode))?;
    for doc in docs {
        let field = |f: &'a Field| (f.length, &f.terms[..]);
        let storing = StoringDoc {
            path: &doc.path,
            key: doc.key,
            title: &doc.title,
            snippet: &doc.snippet,
            fields: [field(&doc.fields[0]), field(&doc.fields[1])],
        };
        postcard::to_io(&storing, &mut *out).map_err(encode)?;
    }
    Ok(())
}

/// Reads a store [`write_store`] wrote, handing each document to `visit` with the stored
/// vocabulary's terms. A damaged store loses the documents from the damage on (and all of them
/// when its vocabulary cannot be read).
pub(crate) fn read_store(bytes: &[u8], visit: &mut dyn FnMut(&[String], StoredDoc)) {
    let Ok((terms, mut rest)) = postcard::take_from_bytes::<Vec<String>>(bytes) else {
        return;
    };
    while let Ok((doc, after)) = postcard::take_from_bytes::<StoredDoc>(rest) {
        visit(&terms, doc);
        rest = after;
    }
}

/// Stored term numbers, each numbered again in this build's vocabulary the first time it is
/// met.
#[derive(Default)]
pub(crate) struct Renumbering {
    numbers: Vec<Option<u32>>,
}

/// The fields of the index, in the order elasticlunr.js is told them, and the position of each
/// one's terms in [`Doc::fields`].
const FIELDS: [&str; 2] = ["title", "body"];

/// One field of one page: how many terms it has (elasticlunr's field length) and each distinct
/// term's number in the site's [`Vocabulary`] with its count, as varint pairs (the difference
/// from the previous term's number, then the count), in increasing term number. A page of the
/// benchmark corpus holds about a hundred distinct terms in some 250 bytes this way, where its
/// terms as text took some 2,500 and elasticlunr-rs's postings (a `String` ref and an `f64`
/// in a `BTreeMap` per term and page) about 10,000.
#[derive(Debug, Clone, PartialEq, Default)]
struct Field {
    length: u32,
    terms: Box<[u8]>,
}

impl Field {
    /// The field of a text whose terms have the numbers `numbers`, in the text's order (sorted
    /// here); `bytes` is a buffer to encode them in.
    fn new(numbers: &mut [u32], bytes: &mut Vec<u8>) -> Field {
        let length = u32::try_from(numbers.len()).unwrap_or(u32::MAX);
        numbers.sort_unstable();
        let runs = numbers.chunk_by(|a, b| a == b);
        let counts = runs.map(|run| (run[0], u32::try_from(run.len()).unwrap_or(u32::MAX)));
        Field::from_counts(length, counts, bytes)
    }

    /// The field of `length` terms with these (term number, count) pairs, in increasing term
    /// number, encoded in the buffer `bytes`.
    fn from_counts(
        length: u32,
        counts: impl IntoIterator<Item = (u32, u32)>,
        bytes: &mut Vec<u8>,
    ) -> Field {
        bytes.clear();
        let mut previous = 0;
        for (term, count) in counts {
            put_varint(bytes, term - previous);
            put_varint(bytes, count);
            previous = term;
        }
        Field {
            length,
            terms: Box::from(&bytes[..]),
        }
    }

    /// Each (term number, count), in increasing term number.
    fn terms(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        let mut bytes = &self.terms[..];
        let mut term = 0u32;
        std::iter::from_fn(move || {
            if bytes.is_empty() {
                return None;
            }
            // Wrapping: a damaged store's bytes must not panic (its terms are checked after).
            term = term.wrapping_add(take_varint(&mut bytes));
            let count = take_varint(&mut bytes);
            Some((term, count))
        })
    }
}

fn put_varint(out: &mut Vec<u8>, mut n: u32) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn take_varint(bytes: &mut &[u8]) -> u32 {
    let mut n = 0u32;
    let mut shift = 0;
    while let Some((&b, rest)) = bytes.split_first() {
        *bytes = rest;
        n |= u32::from(b & 0x7f).checked_shl(shift).unwrap_or(0);
        if b < 0x80 {
            break;
        }
        shift += 7;
    }
    n
}

/// The distinct terms of a site, numbered in the order the (parallel) render first met them.
/// The numbers never reach the index file, which is ordered by the terms themselves, so the
/// order the pages were rendered in does not change a byte of it.
#[derive(Debug)]
pub(crate) struct Vocabulary {
    /// Tells this vocabulary from others in a thread's cache of term numbers.
    id: u64,
    terms: Mutex<Terms>,
}

/// Each term with its number: the terms one after the other in one string, and a table of the
/// numbers hashed by their terms (some 20 bytes a term, where a map of boxed strings took 60).
#[derive(Debug, Default)]
struct Terms {
    text: String,
    /// Where each term ends in `text`, by number.
    ends: Vec<u32>,
    table: hashbrown::HashTable<u32>,
}

impl Terms {
    fn term<'a>(text: &'a str, ends: &[u32], n: u32) -> &'a str {
        let n = n as usize;
        let start = if n == 0 { 0 } else { ends[n - 1] as usize };
        &text[start..ends[n] as usize]
    }

    /// The terms by number.
    fn list(&self) -> Vec<&str> {
        (0..self.ends.len())
            .map(|n| Terms::term(&self.text, &self.ends, n as u32))
            .collect()
    }
}

fn hash(term: &str) -> u64 {
    hash_bytes(term.as_bytes())
}

fn hash_bytes(bytes: &[u8]) -> u64 {
    use std::hash::Hasher;
    let mut hasher = fnv::FnvHasher::default();
    hasher.write(bytes);
    hasher.finish()
}

impl Default for Vocabulary {
    fn default() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        Vocabulary {
            id: NEXT.fetch_add(1, Ordering::Relaxed),
            terms: Mutex::default(),
        }
    }
}

impl Vocabulary {
    /// `f` of the terms by number.
    pub(crate) fn with_terms<R>(&self, f: impl FnOnce(&[&str]) -> R) -> R {
        let terms = self.terms.lock().unwrap_or_else(|p| p.into_inner());
        f(&terms.list())
    }

    /// The number of `term`, given it the first time.
    fn number(&self, term: &str) -> u32 {
        let mut terms = self.terms.lock().unwrap_or_else(|p| p.into_inner());
        let Terms { text, ends, table } = &mut *terms;
        let found = table.find(hash(term), |&n| Terms::term(text, ends, n) == term);
        if let Some(&n) = found {
            return n;
        }
        let n = u32::try_from(ends.len()).expect("fewer than 2^32 terms");
        text.push_str(term);
        ends.push(u32::try_from(text.len()).expect("terms under 4 GiB"));
        table.insert_unique(hash(term), n, |&m| hash(Terms::term(text, ends, m)));
        n
    }
}

impl Doc {
    /// A page whose body is the HTML fragment `html`.
    pub(crate) fn from_fragment(
        path: &str,
        title: &str,
        html: &str,
        vocabulary: &Vocabulary,
    ) -> Doc {
        let mut text = INDEXER.with(|indexer| std::mem::take(&mut indexer.borrow_mut().text));
        text.clear();
        text_into(html, &mut text);
        let doc = Doc::from_text(path, title, &text, vocabulary);
        INDEXER.with(|indexer| indexer.borrow_mut().text = text);
        doc
    }

    /// A page whose body's text is `text` (a content page's, as the Markdown renderer gathered
    /// it). Called from the parallel render: the costly part of indexing (stemming every word)
    /// runs here, on every core, and only writing the index is left for one thread.
    pub(crate) fn from_text(path: &str, title: &str, text: &str, vocabulary: &Vocabulary) -> Doc {
        INDEXER.with(|indexer| {
            let mut indexer = indexer.borrow_mut();
            let Indexer {
                stems,
                numbers,
                bytes,
                ..
            } = &mut *indexer;
            stems.use_vocabulary(vocabulary);
            let key = crate::output::manifest::Fingerprint::default()
                .add(path)
                .add(title)
                .add(text)
                .finish();
            let mut field = |words: &str| {
                numbers.clear();
                stems.numbers_into(words, vocabulary, numbers);
                Field::new(numbers, bytes)
            };
            let doc = Doc {
                path: path.to_string(),
                title: title.to_string(),
                snippet: snippet(text),
                fields: [field(title), field(text)],
                key,
            };
            indexer.let_go_of_large_buffers();
            doc
        })
    }

    /// See [`Doc::key`](struct@Doc).
    pub(crate) fn key(&self) -> u128 {
        self.key
    }

    /// A stored document (`terms`: the store's vocabulary), its terms numbered in
    /// `vocabulary`; `None` when it names a term the store does not have (a damaged store).
    pub(crate) fn from_stored(
        stored: StoredDoc,
        terms: &[String],
        renumbering: &mut Renumbering,
        vocabulary: &Vocabulary,
    ) -> Option<Doc> {
        renumbering.numbers.resize(terms.len(), None);
        let mut field = |(length, bytes): (u32, Vec<u8>)| {
            let stored = Field {
                length,
                terms: bytes.into_boxed_slice(),
            };
            let mut numbered = Vec::new();
            for (term, count) in stored.terms() {
                let slot = renumbering.numbers.get_mut(term as usize)?;
                let n = *slot.get_or_insert_with(|| vocabulary.number(&terms[term as usize]));
                numbered.push((n, count));
            }
            numbered.sort_unstable();
            Some(Field::from_counts(length, numbered, &mut Vec::new()))
        };
        let [title, body] = stored.fields;
        Some(Doc {
            fields: [field(title)?, field(body)?],
            path: stored.path,
            title: stored.title,
            snippet: stored.snippet,
            key: stored.key,
        })
    }

    /// A whole rendered page (a portfolio page): only what is inside `<main>` is indexed, so the
    /// navigation that every page repeats does not match every query.
    pub(crate) fn from_page(path: &str, title: &str, page: &str, vocabulary: &Vocabulary) -> Doc {
        let main = page
            .find("<main")
            .and_then(|start| {
                let end = page[start..].find("</main>")?;
                Some(&page[start..start + end])
            })
            .unwrap_or("");
        Doc::from_fragment(path, title, main, vocabulary)
    }
}

/// What each render thread keeps from one page it indexes to the next: the English pipeline's
/// answers, and the buffers a page's document is made in (allocated for every page, among the
/// render's own allocations, they cost more than the work done in them).
#[derive(Default)]
struct Indexer {
    stems: Stems,
    /// The page's text.
    text: String,
    /// A field's term numbers, in the text's order.
    numbers: Vec<u32>,
    /// A field's terms, encoded.
    bytes: Vec<u8>,
}

thread_local! {
    static INDEXER: RefCell<Indexer> = RefCell::new(Indexer::default());
}

impl Indexer {
    /// Buffers kept between pages at most; a larger one (a page of several megabytes) is freed.
    const KEPT: usize = 1 << 20;

    fn let_go_of_large_buffers(&mut self) {
        if self.text.capacity() > Self::KEPT {
            self.text = String::new();
        }
        if self.numbers.capacity() * 4 > Self::KEPT {
            self.numbers = Vec::new();
        }
        if self.bytes.capacity() > Self::KEPT {
            self.bytes = Vec::new();
        }
    }
}

/// The words of a text, as [`Stems::numbers_into`] splits it (at whitespace and hyphens): bare numbers
/// left out.
fn words(text: &str) -> impl Iterator<Item = &str> {
    let mut next = 0;
    std::iter::from_fn(move || {
        while next < text.len() {
            let start = next;
            let mut end = start;
            while end < text.len() {
                if WORD_BYTES[usize::from(text.as_bytes()[end])] == Byte::Plain {
                    end += 1;
                    next = end;
                    continue;
                }
                let (width, space) = match text.as_bytes()[end] {
                    b'-' => (1, true),
                    _ => char_at(text, end),
                };
                if space {
                    next = end + width;
                    break;
                }
                end += width;
                next = end;
            }
            let word = &text[start..end];
            if !word.is_empty() && !word.bytes().all(|b| b.is_ascii_digit()) {
                return Some(word);
            }
        }
        None
    })
}

/// What a byte is to the scans of [`text_of`] and [`words`]: most bytes are [`Byte::Plain`],
/// and they are passed over a run at a time.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Byte {
    /// A byte of an ASCII character that is part of a word.
    Plain,
    /// ASCII whitespace, a byte of a non-ASCII character (which may be whitespace), or a byte
    /// the scan stops at (`<` and `&` in HTML, `-` between words).
    Other,
}

/// The bytes that are [`Byte::Plain`] in HTML text: ASCII but for whitespace, `<` and `&`.
static HTML_BYTES: [Byte; 256] = byte_classes(b"<&");
/// The bytes that are [`Byte::Plain`] in text: ASCII but for whitespace.
static TEXT_BYTES: [Byte; 256] = byte_classes(b"");
/// The bytes that are [`Byte::Plain`] in a word: ASCII but for whitespace and `-`.
static WORD_BYTES: [Byte; 256] = byte_classes(b"-");

const fn byte_classes(stops: &[u8]) -> [Byte; 256] {
    let mut classes = [Byte::Other; 256];
    let mut b = 0;
    while b < 128 {
        let space = is_ascii_space(b as u8);
        let mut stop = false;
        let mut s = 0;
        while s < stops.len() {
            stop |= stops[s] == b as u8;
            s += 1;
        }
        if !space && !stop {
            classes[b] = Byte::Plain;
        }
        b += 1;
    }
    classes
}

/// The ASCII characters [`char::is_whitespace`] takes for whitespace (`\x0b` among them, which
/// [`u8::is_ascii_whitespace`] is not).
const fn is_ascii_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t'..=b'\r')
}

/// The width of the character that starts at byte `i` of `text`, and whether it is whitespace
/// ([`char::is_whitespace`]). An ASCII byte is looked at as it is, and only another character
/// decoded: most of a site's text is short ASCII words, and this runs on every byte of it.
#[inline]
fn char_at(text: &str, i: usize) -> (usize, bool) {
    match text.as_bytes()[i] {
        b if is_ascii_space(b) => (1, true),
        b if b < 0x80 => (1, false),
        _ => {
            let c = text[i..].chars().next().expect("a character starts here");
            (c.len_utf8(), c.is_whitespace())
        }
    }
}

/// What the English pipeline makes of a word: its term, or nothing (a stop word, a number).
fn term(pipeline: &elasticlunr::Pipeline, word: &str) -> Option<String> {
    pipeline
        .run(vec![word.to_lowercase()])
        .pop()
        .filter(|t| !t.is_empty() && !t.bytes().all(|b| b.is_ascii_digit()))
}

/// The English pipeline, with the number of what it made of each word in one vocabulary.
struct Stems {
    pipeline: elasticlunr::Pipeline,
    /// The [`Vocabulary::id`] that `words` are numbered in.
    vocabulary: Option<u64>,
    words: Words,
}

impl Default for Stems {
    fn default() -> Self {
        use elasticlunr::Language;
        Stems {
            pipeline: elasticlunr::lang::English::new().make_pipeline(),
            vocabulary: None,
            words: Words::default(),
        }
    }
}

impl Stems {
    /// Words kept at most; past it the cache starts again. A site's common words are back in it
    /// after a few pages, and a large site's one-off words (`walker_7088`: 76,000 of the 82,000
    /// distinct words of the benchmark corpus) do not fill it with megabytes.
    const LIMIT: usize = 16_384;
    /// Bytes of long words past which the cache starts again (a page may hold a word of
    /// megabytes).
    const LONG_LIMIT: usize = 1 << 20;

    /// Makes the numbers this cache holds those of `vocabulary` (a new build's starts empty).
    fn use_vocabulary(&mut self, vocabulary: &Vocabulary) {
        if self.vocabulary != Some(vocabulary.id) {
            self.words.clear();
            self.vocabulary = Some(vocabulary.id);
        }
    }

    /// Appends to `numbers` the words of `text` as elasticlunr.js will look them up, by their
    /// numbers in `vocabulary`: split at spaces and hyphens, lower-cased, run through the
    /// English pipeline (trimmer, stop words, stemmer), as elasticlunr-rs would in `add_doc`,
    /// but with each distinct word stemmed and numbered once per thread while its cache holds it. Bare numbers are left
    /// out: nobody searches for `00042`, and on a large site they are most of the index's
    /// distinct terms.
    fn numbers_into(&mut self, text: &str, vocabulary: &Vocabulary, numbers: &mut Vec<u32>) {
        for word in words(text) {
            if let Some(n) = self.number(word, vocabulary) {
                numbers.push(n);
            }
        }
    }

    fn number(&mut self, word: &str, vocabulary: &Vocabulary) -> Option<u32> {
        let key = WordKey::new(word);
        if let Some(n) = self.words.get(&key) {
            return n;
        }
        if self.words.len() >= Self::LIMIT || self.words.long.len() >= Self::LONG_LIMIT {
            self.words.clear();
        }
        let n = term(&self.pipeline, word).map(|t| vocabulary.number(&t));
        self.words.insert(&key, n);
        n
    }
}

/// A thread's words with their term numbers. Looking a word up is most of what indexing a page
/// costs, so an entry holds a short word itself: a map of boxed strings followed a pointer
/// to compare each word, and that memory read was a third of the lookup's time.
#[derive(Default)]
struct Words {
    table: hashbrown::HashTable<Word>,
    /// Words longer than [`WordKey::INLINE`] bytes, one after the other.
    long: String,
}

/// One word of [`Words`].
#[derive(Clone, Copy)]
struct Word {
    head: [u8; WordKey::INLINE],
    len: u32,
    /// Where the word is in [`Words::long`], when it is long.
    at: u32,
    number: Option<u32>,
}

/// A word as [`Words`] compares it: its first bytes zero-padded, so that a short word is
/// compared in one go.
struct WordKey<'w> {
    word: &'w str,
    head: [u8; WordKey::INLINE],
    hash: u64,
}

impl<'w> WordKey<'w> {
    const INLINE: usize = 16;

    fn new(word: &'w str) -> WordKey<'w> {
        let mut head = [0; WordKey::INLINE];
        let inline = word.len().min(WordKey::INLINE);
        head[..inline].copy_from_slice(&word.as_bytes()[..inline]);
        WordKey {
            word,
            head,
            hash: hash(word),
        }
    }
}

impl Words {
    fn len(&self) -> usize {
        self.table.len()
    }

    fn clear(&mut self) {
        self.table.clear();
        self.long.clear();
    }

    fn get(&self, key: &WordKey<'_>) -> Option<Option<u32>> {
        let len = key.word.len();
        let found = self.table.find(key.hash, |w| {
            w.len as usize == len
                && w.head == key.head
                && (len <= WordKey::INLINE
                    || &self.long[w.at as usize..w.at as usize + len] == key.word)
        });
        found.map(|w| w.number)
    }

    fn insert(&mut self, key: &WordKey<'_>, number: Option<u32>) {
        let mut at = 0;
        if key.word.len() > WordKey::INLINE {
            at = u32::try_from(self.long.len()).unwrap_or(u32::MAX);
            self.long.push_str(key.word);
        }
        let word = Word {
            head: key.head,
            len: u32::try_from(key.word.len()).unwrap_or(u32::MAX),
            at,
            number,
        };
        let long = self.long.as_bytes();
        self.table.insert_unique(key.hash, word, |w| {
            let len = w.len as usize;
            hash_bytes(match len <= WordKey::INLINE {
                true => &w.head[..len],
                false => &long[w.at as usize..w.at as usize + len],
            })
        });
    }
}

/// The index file: `{"version": 1, "index": <elasticlunr index>, "docs": [[title, url,
/// snippet], ...]}`, where a result's ref is its position in `docs`. Documents are not stored in
/// the elasticlunr index itself (it would keep every page's whole text); only the snippet is.
pub(crate) fn index_json(docs: &[&Doc], vocabulary: &Vocabulary, urls: &Urls) -> String {
    let mut out = Vec::new();
    write_index(docs, vocabulary, urls, &mut out).expect("writing to memory");
    String::from_utf8(out).expect("the index is JSON text")
}

/// Postings gathered at once while writing the index: past it, the terms are written in
/// several passes over the pages, so that writing a large site's index takes a bounded amount
/// of memory (8 bytes a posting: 8 MiB, taken when the render's memory has been freed). The
/// 1.6 million postings of the 10,000-page benchmark corpus take two passes, where 1 MiB took
/// twelve, each decoding every page's terms. Tests use a small one, so that their sites take
/// several passes.
const POSTINGS_PER_PASS: usize = if cfg!(test) { 1 << 10 } else { 1 << 20 };

/// Writes [`index_json`] to `out` as it goes, the same bytes, byte for byte, as elasticlunr-rs's
/// `Index::to_json` of the same pages (a test holds it to that), without building its `Index`:
/// that holds a `BTreeMap` node per character of every term and a `String` ref and an `f64` per
/// posting (317 MiB with its JSON text for the 10,000-page benchmark corpus). Here the
/// terms are written in order from the pages' compact [`Field`]s.
pub(crate) fn write_index(
    docs: &[&Doc],
    vocabulary: &Vocabulary,
    urls: &Urls,
    out: &mut dyn Write,
) -> io::Result<()> {
    let terms = vocabulary.terms.lock().unwrap_or_else(|p| p.into_inner());
    let terms = terms.list();
    // elasticlunr-rs keeps refs in `BTreeMap`s keyed by the ref as text: "10" comes before "9".
    let mut order: Vec<u32> =
        (0..u32::try_from(docs.len()).expect("fewer than 2^32 pages")).collect();
    order.sort_by_cached_key(|n| n.to_string());
    // Each posting is written `"ref":{"tf":...}`: the ref's part once per page.
    let refs: Vec<String> = (0..docs.len())
        .map(|n| format!("\"{n}\":{{\"tf\":"))
        .collect();
    let mut tfs = Tfs::default();
    // Terms in the order of their text, as elasticlunr-rs's character tree has them.
    let mut sorted: Vec<u32> =
        (0..u32::try_from(terms.len()).expect("fewer than 2^32 terms")).collect();
    sorted.sort_unstable_by(|&a, &b| terms[a as usize].cmp(terms[b as usize]));

    out.write_all(b"{\"version\":1,\"index\":{\"fields\":")?;
    serde_json::to_writer(&mut *out, &FIELDS)?;
    out.write_all(
        b",\"pipeline\":[\"trimmer\",\"stopWordFilter\",\"stemmer\"],\"ref\":\"id\",\"version\":",
    )?;
    serde_json::to_writer(&mut *out, elasticlunr::ELASTICLUNR_VERSION)?;
    out.write_all(b",\"index\":{")?;
    // The fields' trees, in the order of their names (a `BTreeMap` in elasticlunr-rs).
    let mut by_name: Vec<usize> = (0..FIELDS.len()).collect();
    by_name.sort_by_key(|&f| FIELDS[f]);
    for (i, &field) in by_name.iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        serde_json::to_writer(&mut *out, FIELDS[field])?;
        out.write_all(b":{\"root\":{\"docs\":{},\"df\":0")?;
        // How many pages hold each term in this field.
        let mut df = vec![0u32; terms.len()];
        for doc in docs {
            for (term, _) in doc.fields[field].terms() {
                df[term as usize] += 1;
            }
        }
        let mut tree = Tree::default();
        let mut slot = vec![u32::MAX; terms.len()];
        let mut postings: Vec<(u32, u32)> = Vec::new();
        let mut rest: &[u32] = &sorted;
        while let Some(&first) = rest.iter().find(|&&t| df[t as usize] > 0) {
            // The next terms whose postings fit in one pass (at least one term).
            let start = rest.iter().position(|&t| t == first).unwrap_or(0);
            let mut end = start;
            let mut held = 0usize;
            let mut starts = Vec::new();
            while end < rest.len() {
                let n = df[rest[end] as usize] as usize;
                if n > 0 {
                    if held > 0 && held + n > POSTINGS_PER_PASS {
                        break;
                    }
                    slot[rest[end] as usize] = u32::try_from(starts.len()).unwrap_or(u32::MAX);
                    starts.push(held);
                    held += n;
                }
                end += 1;
            }
            let batch = &rest[start..end];
            // Each term's postings, pages in ref order.
            postings.clear();
            postings.resize(held, (0, 0));
            let mut next = starts.clone();
            for &page in &order {
                for (term, count) in docs[page as usize].fields[field].terms() {
                    let s = slot[term as usize];
                    if s != u32::MAX {
                        postings[next[s as usize]] = (page, count);
                        next[s as usize] += 1;
                    }
                }
            }
            for &term in batch {
                let s = slot[term as usize];
                if s == u32::MAX {
                    continue;
                }
                let from = starts[s as usize];
                let to = from + df[term as usize] as usize;
                tree.enter(out, terms[term as usize])?;
                out.write_all(b"{\"docs\":{")?;
                for (i, &(page, count)) in postings[from..to].iter().enumerate() {
                    if i > 0 {
                        out.write_all(b",")?;
                    }
                    out.write_all(refs[page as usize].as_bytes())?;
                    out.write_all(tfs.get(count).as_bytes())?;
                    out.write_all(b"}")?;
                }
                write!(out, "}},\"df\":{}", to - from)?;
                slot[term as usize] = u32::MAX;
            }
            rest = &rest[end..];
        }
        tree.close_all(out)?;
        out.write_all(b"}}")?;
    }
    out.write_all(b"},\"documentStore\":{\"save\":false,\"docs\":{")?;
    for (i, &page) in order.iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        write!(out, "\"{page}\":{{}}")?;
    }
    out.write_all(b"},\"docInfo\":{")?;
    for (i, &page) in order.iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        write!(out, "\"{page}\":{{")?;
        for (j, &field) in by_name.iter().enumerate() {
            if j > 0 {
                out.write_all(b",")?;
            }
            serde_json::to_writer(&mut *out, FIELDS[field])?;
            write!(out, ":{}", docs[page as usize].fields[field].length)?;
        }
        out.write_all(b"}")?;
    }
    write!(
        out,
        "}},\"length\":{}}},\"lang\":\"English\"}},\"docs\":[",
        docs.len()
    )?;
    for (i, doc) in docs.iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        serde_json::to_writer(&mut *out, &(&doc.title, urls.url(&doc.path), &doc.snippet))?;
    }
    out.write_all(b"]}")
}

/// The open nodes of the character tree being written: the characters of the last term
/// written. Terms come in order, so a term's tree path is closed only once no later term
/// shares it.
#[derive(Default)]
struct Tree {
    open: Vec<char>,
}

impl Tree {
    /// Closes the nodes `term` does not share with the last term, opens the ones it adds (empty
    /// but for their children), and leaves the writer where `term`'s own node's value starts.
    fn enter(&mut self, out: &mut dyn Write, term: &str) -> io::Result<()> {
        let shared = self
            .open
            .iter()
            .zip(term.chars())
            .take_while(|(a, b)| *a == b)
            .count();
        for _ in shared..self.open.len() {
            out.write_all(b"}")?;
        }
        self.open.truncate(shared);
        let mut chars = term.chars().skip(shared).peekable();
        while let Some(c) = chars.next() {
            out.write_all(b",")?;
            let mut buf = [0u8; 4];
            serde_json::to_writer(&mut *out, c.encode_utf8(&mut buf) as &str)?;
            out.write_all(b":")?;
            self.open.push(c);
            if chars.peek().is_some() {
                out.write_all(b"{\"docs\":{},\"df\":0")?;
            }
        }
        Ok(())
    }

    fn close_all(&mut self, out: &mut dyn Write) -> io::Result<()> {
        for _ in self.open.drain(..) {
            out.write_all(b"}")?;
        }
        Ok(())
    }
}

/// elasticlunr's term frequency, the square root of the count, as serde_json writes an `f64`.
#[derive(Default)]
struct Tfs {
    written: Vec<String>,
}

impl Tfs {
    fn get(&mut self, count: u32) -> &str {
        let count = count as usize;
        if count >= self.written.len() {
            let from = self.written.len();
            self.written.extend(
                (from..=count)
                    .map(|c| serde_json::to_string(&(c as f64).sqrt()).expect("a finite number")),
            );
        }
        &self.written[count]
    }
}

/// The start of a page's text, cut at a word boundary.
fn snippet(text: &str) -> String {
    // Only the start of the text is looked at: a page's text may be long.
    let Some((cut, _)) = text.char_indices().nth(SNIPPET_CHARS) else {
        return text.to_string();
    };
    let head = &text[..cut];
    let head = head.rfind(' ').map_or(head, |space| &head[..space]);
    format!("{head} …")
}

/// The text of an HTML fragment: tags dropped (each one a word break), the contents of
/// [`SKIPPED`] elements dropped, the common character references decoded, whitespace collapsed.
/// One pass over the bytes into one string. A content page's text is gathered from its
/// Markdown's events instead (`markdown::render_with_text`, which the tests hold to this
/// function's text of the same page); this reads the rest: generated pages, pages with HTML of
/// their own, a cohort's write-ups.
pub(crate) fn text_of(html: &str) -> String {
    let mut text = String::new();
    text_into(html, &mut text);
    text
}

/// [`text_of`], appended to `out`.
fn text_into(html: &str, out: &mut String) {
    let mut text = Collapsed::new(std::mem::take(out));
    text.push_html(html);
    *out = text.into_string();
}

impl Collapsed {
    /// Appends the text of the HTML fragment `html` (see [`text_of`]).
    pub(crate) fn push_html(&mut self, html: &str) {
        let text = self;
        let bytes = html.as_bytes();
        text.out.reserve(html.len() / 2);
        let mut skipping: Option<&str> = None;
        // Where the text not yet written starts.
        let mut run = 0;
        let mut i = 0;
        while i < bytes.len() {
            if let Some(name) = skipping {
                // Only a tag can end what is skipped.
                let Some(lt) = memchr::memchr(b'<', &bytes[i..]) else {
                    break;
                };
                let (tag, tag_end) = tag_at(html, i + lt);
                if closes(tag, name) {
                    skipping = None;
                }
                text.break_word();
                i = tag_end;
                run = i;
                continue;
            }
            // Letters, digits and punctuation are copied as they are, a run at a time.
            while i < bytes.len() && HTML_BYTES[usize::from(bytes[i])] == Byte::Plain {
                i += 1;
            }
            if i == bytes.len() {
                break;
            }
            let (width, space) = match bytes[i] {
                b'<' => {
                    text.push_run(&html[run..i]);
                    let (tag, tag_end) = tag_at(html, i);
                    skipping = skipped_from(tag);
                    text.break_word();
                    i = tag_end;
                    run = i;
                    continue;
                }
                b'&' => {
                    text.push_run(&html[run..i]);
                    let after = &html[i..];
                    let reference = memchr::memchr(b';', &after.as_bytes()[..after.len().min(11)])
                        .map(|end| &after[..=end]);
                    match reference.and_then(decode_one) {
                        Some(c) => {
                            if c.is_whitespace() {
                                text.break_word();
                            } else {
                                text.push_run(c.encode_utf8(&mut [0; 4]));
                            }
                            i += reference.map_or(1, str::len);
                        }
                        None => {
                            text.push_run("&");
                            i += 1;
                        }
                    }
                    run = i;
                    continue;
                }
                _ => char_at(html, i),
            };
            if space {
                text.push_run(&html[run..i]);
                text.break_word();
                run = i + width;
            }
            i += width;
        }
        if skipping.is_none() {
            text.push_run(&html[run.min(html.len())..]);
        }
    }
}

/// The text of the tag that starts at `lt` (between `<` and `>`; an unclosed tag runs to the
/// end), and where what follows it starts.
fn tag_at(html: &str, lt: usize) -> (&str, usize) {
    match memchr::memchr(b'>', &html.as_bytes()[lt..]) {
        Some(gt) => (&html[lt + 1..lt + gt], lt + gt + 1),
        None => (&html[lt + 1..], html.len()),
    }
}

/// The element whose contents are not text that the tag `tag` opens, if it opens one.
fn skipped_from(tag: &str) -> Option<&str> {
    if tag.starts_with(HEADING_ANCHOR) {
        // A heading's `#` link to itself is not part of its text.
        Some("a")
    } else if has_attribute(tag, SKIP_ATTRIBUTE) {
        // Nor is what the theme marks as no text of the page (the portfolio's stamp, whose
        // build time would change the index on every build).
        tag.split(|c: char| c.is_ascii_whitespace()).next()
    } else {
        SKIPPED.iter().copied().find(|name| opens(tag, name))
    }
}

/// Whether a tag's text (between `<` and `>`) has the attribute `name`. Only names count, not
/// values: a heading about the attribute has it in its `id`, an image may be named after it.
fn has_attribute(tag: &str, name: &str) -> bool {
    let bytes = tag.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'=' => {
                // Past the value: quoted, or up to whitespace.
                i += 1;
                while bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
                    i += 1;
                }
                match bytes.get(i) {
                    Some(&quote @ (b'"' | b'\'')) => {
                        i = memchr::memchr(quote, &bytes[i + 1..])
                            .map_or(bytes.len(), |end| i + 1 + end + 1);
                    }
                    _ => {
                        while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
                            i += 1;
                        }
                    }
                }
            }
            b if b.is_ascii_whitespace() || b == b'/' => {
                i += 1;
                let rest = &bytes[i..];
                if rest.len() >= name.len()
                    && rest[..name.len()].eq_ignore_ascii_case(name.as_bytes())
                    && rest
                        .get(name.len())
                        .is_none_or(|&c| c.is_ascii_whitespace() || c == b'=' || c == b'/')
                {
                    return true;
                }
            }
            _ => i += 1,
        }
    }
    false
}

/// A page's text as it is written: each run of whitespace made one space, and none at either
/// end (after what it started with). The text is pushed as HTML ([`Collapsed::push_html`]) or,
/// from the Markdown renderer's events, as it is ([`Collapsed::push_text`]).
#[derive(Default)]
pub(crate) struct Collapsed {
    out: String,
    /// A word break (whitespace or a tag) was met since the last character written.
    space: bool,
}

impl Collapsed {
    fn new(out: String) -> Collapsed {
        Collapsed { out, space: false }
    }

    pub(crate) fn into_string(self) -> String {
        self.out
    }

    /// Where a tag would be in the HTML: words on either side are two words.
    pub(crate) fn break_word(&mut self) {
        self.space = true;
    }

    /// Appends another collapsed text (a code block's), without the word breaks it had at
    /// either end: the caller breaks words around it where tags are.
    pub(crate) fn push_collapsed(&mut self, other: &Collapsed) {
        self.push_run(&other.out);
    }

    /// Appends text (not HTML: nothing in it is markup).
    pub(crate) fn push_text(&mut self, text: &str) {
        let bytes = text.as_bytes();
        let mut run = 0;
        let mut i = 0;
        while i < bytes.len() {
            while i < bytes.len() && TEXT_BYTES[usize::from(bytes[i])] == Byte::Plain {
                i += 1;
            }
            if i == bytes.len() {
                break;
            }
            let (width, space) = char_at(text, i);
            if space {
                self.push_run(&text[run..i]);
                self.break_word();
                run = i + width;
            }
            i += width;
        }
        self.push_run(&text[run..]);
    }

    /// Appends text without whitespace, after one space if a break came before it.
    fn push_run(&mut self, run: &str) {
        if run.is_empty() {
            return;
        }
        if self.space && !self.out.is_empty() {
            self.out.push(' ');
        }
        self.space = false;
        self.out.push_str(run);
    }
}

fn opens(tag: &str, name: &str) -> bool {
    has_name(tag, name) && !tag.ends_with('/')
}

fn closes(tag: &str, name: &str) -> bool {
    tag.strip_prefix('/').is_some_and(|t| has_name(t, name))
}

/// Whether a tag's text (between `<` and `>`) starts with the element name `name`.
fn has_name(tag: &str, name: &str) -> bool {
    // On bytes: a tag's text may hold any character where the name would end.
    let tag = tag.as_bytes();
    tag.len() >= name.len()
        && tag[..name.len()].eq_ignore_ascii_case(name.as_bytes())
        && tag
            .get(name.len())
            .is_none_or(|&c| c.is_ascii_whitespace() || c == b'/')
}

/// The character a reference the Markdown renderer or the sanitiser writes stands for; any
/// other is left as written.
fn decode_one(reference: &str) -> Option<char> {
    let name = &reference[1..reference.len() - 1];
    match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        "nbsp" => Some(' '),
        _ => {
            let number = name.strip_prefix('#')?;
            let code = match number.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => number.parse().ok()?,
            };
            char::from_u32(code)
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    use serde_json::Value;

    /// The terms of `text`, separated by spaces: what clinic gave elasticlunr-rs for a field.
    pub(crate) fn terms(text: &str) -> String {
        use elasticlunr::Language;
        let pipeline = elasticlunr::lang::English::new().make_pipeline();
        words(text)
            .filter_map(|word| term(&pipeline, word))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// elasticlunr's English, for text that [`terms`] already prepared: split at spaces, and a
    /// pipeline that changes nothing but keeps the English steps' names. The index clinic wrote
    /// with elasticlunr-rs until it wrote the same JSON itself; kept as the tests' oracle.
    struct Prepared;

    impl elasticlunr::Language for Prepared {
        fn name(&self) -> String {
            "English".into()
        }

        fn code(&self) -> String {
            "en".into()
        }

        fn tokenize(&self, text: &str) -> Vec<String> {
            text.split(' ')
                .filter(|t| !t.is_empty())
                .map(String::from)
                .collect()
        }

        fn make_pipeline(&self) -> elasticlunr::Pipeline {
            fn same(token: String) -> Option<String> {
                Some(token)
            }
            let step = |name: &str| -> Box<dyn elasticlunr::pipeline::PipelineFn> {
                Box::new(elasticlunr::pipeline::FnWrapper(name.into(), same))
            };
            elasticlunr::Pipeline {
                queue: vec![step("trimmer"), step("stopWordFilter"), step("stemmer")],
            }
        }
    }

    /// What clinic wrote with elasticlunr-rs for pages given as (title, url, snippet, title
    /// terms, text terms), byte for byte: its index, wrapped as [`index_json`] wraps it.
    pub(crate) fn oracle(pages: &[(String, String, String, String, String)]) -> String {
        let mut index = elasticlunr::IndexBuilder::with_language(Box::new(Prepared))
            .save_docs(false)
            .add_fields(&FIELDS)
            .build();
        let mut shown = Vec::new();
        for (i, (title, url, snippet, title_terms, body_terms)) in pages.iter().enumerate() {
            index.add_doc(&i.to_string(), [title_terms.as_str(), body_terms.as_str()]);
            shown.push(serde_json::json!([title, url, snippet]));
        }
        format!(
            "{{\"version\":1,\"index\":{},\"docs\":{}}}",
            index.to_json(),
            Value::Array(shown)
        )
    }

    /// Asserts that `written` is `expected`, as JSON values and byte for byte.
    pub(crate) fn assert_same_index(written: &str, expected: &str) {
        let value: Value = serde_json::from_str(written).expect("the index is JSON");
        let oracle: Value = serde_json::from_str(expected).expect("elasticlunr-rs's is JSON");
        assert!(value == oracle, "the index differs from elasticlunr-rs's");
        if let Some(at) = written
            .bytes()
            .zip(expected.bytes())
            .position(|(a, b)| a != b)
        {
            let around = |s: &str| s[at.saturating_sub(60)..(at + 60).min(s.len())].to_string();
            panic!(
                "byte {at} differs: {:?} where elasticlunr-rs wrote {:?}",
                around(written),
                around(expected)
            );
        }
        assert_eq!(written.len(), expected.len());
    }

    /// A field's terms as text, each as many times as the page has it, in alphabetical order.
    pub(super) fn field_text(field: &Field, vocabulary: &Vocabulary) -> String {
        let terms = vocabulary.terms.lock().unwrap();
        let list = terms.list();
        let mut words = Vec::new();
        for (term, count) in field.terms() {
            for _ in 0..count {
                words.push(list[term as usize]);
            }
        }
        words.sort_unstable();
        words.join(" ")
    }

    /// [`oracle`] of pages as the render stored them.
    pub(crate) fn oracle_of(docs: &[&Doc], vocabulary: &Vocabulary, urls: &Urls) -> String {
        let pages: Vec<_> = docs
            .iter()
            .map(|d| {
                (
                    d.title.clone(),
                    urls.url(&d.path),
                    d.snippet.clone(),
                    field_text(&d.fields[0], vocabulary),
                    field_text(&d.fields[1], vocabulary),
                )
            })
            .collect();
        oracle(&pages)
    }

    #[test]
    fn text_drops_tags_drawings_and_decodes_references() {
        let html = "<h2 id=\"a\">Expand &amp; contract <a class=\"anchor\" href=\"#a\">#</a></h2><p>Add the <code>email</code>\ncolumn&#39;s twin.</p>\
                    <svg viewBox=\"0 0 1 1\"><text>axis label</text></svg><p>After&nbsp;it<br/>ends &copy; x</p>";
        assert_eq!(
            text_of(html),
            "Expand & contract Add the email column's twin. After it ends &copy; x"
        );
    }

    /// What [`text_of`] did in three passes (strip the tags, decode the references, collapse
    /// the whitespace) before it took one: the oracle of the one pass.
    fn text_in_three_passes(html: &str) -> String {
        let mut raw = String::new();
        let mut rest = html;
        let mut skipping: Option<&str> = None;
        while let Some(lt) = rest.find('<') {
            if skipping.is_none() {
                raw.push_str(&rest[..lt]);
            }
            let (tag, tag_end) = match rest[lt..].find('>') {
                Some(gt) => (&rest[lt + 1..lt + gt], lt + gt + 1),
                None => (&rest[lt + 1..], rest.len()),
            };
            match skipping {
                Some(name) if closes(tag, name) => skipping = None,
                Some(_) => {}
                None if tag.starts_with(HEADING_ANCHOR) => skipping = Some("a"),
                None if has_attribute(tag, SKIP_ATTRIBUTE) => {
                    skipping = tag.split(|c: char| c.is_ascii_whitespace()).next()
                }
                None => skipping = SKIPPED.iter().copied().find(|name| opens(tag, name)),
            }
            raw.push(' ');
            rest = &rest[tag_end..];
        }
        if skipping.is_none() {
            raw.push_str(rest);
        }
        let mut decoded = String::new();
        let mut rest = raw.as_str();
        while let Some(amp) = rest.find('&') {
            decoded.push_str(&rest[..amp]);
            let after = &rest[amp..];
            let reference = after.find(';').filter(|&e| e <= 10).map(|e| &after[..=e]);
            match reference.and_then(decode_one) {
                Some(c) => {
                    decoded.push(c);
                    rest = &after[reference.map_or(1, str::len)..];
                }
                None => {
                    decoded.push('&');
                    rest = &after[1..];
                }
            }
        }
        decoded.push_str(rest);
        decoded.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn text_in_one_pass_is_the_text_of_three() {
        // Fragments that meet at references, tags, whitespace and skipped elements; every
        // sequence of four of them (with repeats), and a few whole pages.
        let pieces = [
            "",
            " ",
            "\n\t",
            "&amp;",
            "&am",
            "p;",
            "&#32;",
            "&nbsp;",
            "&#x41;",
            "&#10;",
            "&;",
            "&#xZZ;",
            "&lt;b&gt;",
            "x",
            "été",
            " y ",
            "<b>",
            "</b>",
            "<br/>",
            "<svg><text>d",
            "</svg>",
            "<a class=\"anchor\" href=\"#h\">#",
            "</a>",
            "<p data-search-skip>",
            "</p>",
            "<scripts>",
            "<script>",
            "</script>",
            "<",
            ">",
            "\u{2003}",
            "&#12345678;",
            "\r\n",
            "\x0b",
            "\x0c",
            "\u{85}",
            "\u{a0}",
            "&#xa0;",
            "&#11;",
            "<p\n>",
        ];
        let mut cases = Vec::new();
        for a in &pieces {
            for b in &pieces {
                for c in &pieces {
                    for d in [pieces[1], pieces[4], pieces[12], pieces[14], pieces[16]] {
                        cases.push(format!("{a}{b}{c}{d}"));
                    }
                }
            }
        }
        cases.push(
            "<h2 id=\"a\">Expand &amp; contract <a class=\"anchor\" href=\"#a\">#</a></h2>\
             <p>Add\u{a0}the <code>email</code>\ncolumn&#39;s twin.</p>"
                .to_string(),
        );
        for html in &cases {
            assert_eq!(text_of(html), text_in_three_passes(html), "for {html:?}");
        }
    }

    #[test]
    fn words_are_split_at_whitespace_and_hyphens() {
        for text in [
            "",
            "  ",
            "expand-contract  rollout\tundo\r\n",
            "--a--b- 42 -x42 été\u{a0}naïve\u{2003}end\x0bv\x0cw\u{85}z",
            "kubectl rollout undo deployment/checkout --to-revision=3",
        ] {
            let expected: Vec<&str> = text
                .split(|c: char| c.is_whitespace() || c == '-')
                .filter(|word| !word.is_empty() && !word.bytes().all(|b| b.is_ascii_digit()))
                .collect();
            assert_eq!(words(text).collect::<Vec<_>>(), expected, "for {text:?}");
        }
    }

    #[test]
    fn the_word_cache_answers_as_a_map_of_the_same_words() {
        // Short words, and long ones that share their first 16 bytes and differ in length or
        // after them (kept out of the entry).
        let mut words = Words::default();
        let mut model = std::collections::HashMap::new();
        let mut seed = 7u64;
        for i in 0..20_000u32 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let prefix = ["", "é", "deployment", "deployment/checkout"][(seed >> 60) as usize % 4];
            let tail =
                (0..(seed >> 40) % 9).map(|k| ["a", "b", "é"][((seed >> (3 * k)) % 3) as usize]);
            let word: String = std::iter::once(prefix).chain(tail).collect();
            if word.is_empty() {
                continue;
            }
            let key = WordKey::new(&word);
            assert_eq!(words.get(&key), model.get(&word).copied(), "for {word:?}");
            if let std::collections::hash_map::Entry::Vacant(entry) = model.entry(word.clone()) {
                let number = (i % 3 != 0).then_some(i);
                words.insert(&key, number);
                entry.insert(number);
            }
        }
        assert_eq!(words.len(), model.len());
        words.clear();
        assert_eq!(words.get(&WordKey::new("ab")), None);
    }

    #[test]
    fn only_an_attribute_named_so_marks_an_element() {
        for (tag, marked) in [
            ("p class=\"stamp\" data-search-skip", true),
            ("p data-search-skip class=\"stamp\"", true),
            ("p data-search-skip=\"\"", true),
            ("p DATA-SEARCH-SKIP /", true),
            ("p\tdata-search-skip", true),
            ("h2 id=\"how-data-search-skip-works\"", false),
            ("h2 id=\"data-search-skip\"", false),
            ("img src='data-search-skip.png' alt=x", false),
            (
                "a href=data-search-skip title=\"x data-search-skip\"",
                false,
            ),
            ("p data-search-skipped", false),
            ("data-search-skip", false),
        ] {
            assert_eq!(has_attribute(tag, SKIP_ATTRIBUTE), marked, "{tag}");
        }
        assert_eq!(
            text_of(
                "<h2 id=\"data-search-skip\">About it</h2><img src=\"data-search-skip.png\">after"
            ),
            "About it after"
        );
    }

    #[test]
    fn elements_the_theme_marks_are_not_text() {
        let html = "<p>Badges</p><p class=\"stamp\" data-search-skip>built <code>09:00</code> today</p><p>after</p>";
        assert_eq!(text_of(html), "Badges after");
    }

    #[test]
    fn escaped_markup_stays_text() {
        // What the sanitiser leaves of a student's `<script>` is text, and stays text here.
        assert_eq!(
            text_of("<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"),
            "<script>alert(1)</script>"
        );
    }

    #[test]
    fn a_page_is_indexed_by_its_main_only() {
        let page = "<nav>Contents Portfolio</nav><main id=\"main\"><h1>Flag</h1><p>retired</p></main><footer>f</footer>";
        let vocabulary = Vocabulary::default();
        let doc = Doc::from_page("portfolio/", "Portfolio", page, &vocabulary);
        assert_eq!(doc.snippet, "Flag retired");
        assert_eq!(field_text(&doc.fields[1], &vocabulary), "flag retir");
    }

    #[test]
    fn terms_are_what_the_english_pipeline_makes_without_bare_numbers() {
        // The same as elasticlunr-rs's own English (stems, stop words), numbers left out.
        let text = "The rollbacks were rehearsed in page-00042, v1.3.0 (twice).";
        assert_eq!(terms(text), "rollback rehears page v1.3.0 twice");
        // And the same terms, numbered, twice over (the second time from the thread's cache).
        let vocabulary = Vocabulary::default();
        let mut stems = Stems::default();
        stems.use_vocabulary(&vocabulary);
        for _ in 0..2 {
            let mut numbers = Vec::new();
            stems.numbers_into(text, &vocabulary, &mut numbers);
            let held = vocabulary.terms.lock().unwrap();
            let list = held.list();
            let numbered: Vec<&str> = numbers.iter().map(|&n| list[n as usize]).collect();
            assert_eq!(numbered.join(" "), terms(text));
        }
    }

    #[test]
    fn snippets_are_cut_at_a_word() {
        let long = "word ".repeat(100);
        let s = snippet(long.trim());
        assert!(s.ends_with("word …"), "{s}");
        assert!(s.chars().count() <= SNIPPET_CHARS + 2);
        assert_eq!(snippet("short"), "short");
    }

    #[test]
    fn the_index_names_each_page_and_its_url_under_the_base_path() {
        let urls = Urls {
            base_path: "/portfolio/".into(),
            base_url: None,
            shared: None,
        };
        let vocabulary = Vocabulary::default();
        let docs = [Doc::from_fragment(
            "a/",
            "Alpha",
            "<p>rollback rehearsal</p>",
            &vocabulary,
        )];
        let json: Value =
            serde_json::from_str(&index_json(&docs.each_ref(), &vocabulary, &urls)).unwrap();
        assert_eq!(json["docs"][0][0], "Alpha");
        assert_eq!(json["docs"][0][1], "/portfolio/a/");
        assert_eq!(json["index"]["version"], "0.9.5");
        assert!(json["index"]["index"]["body"]["root"]["r"].is_object());
    }
}

#[cfg(test)]
mod oracle_tests {
    //! The index as written here against elasticlunr-rs's, on generated sites.

    use super::tests::{self, field_text, oracle, terms};
    use super::*;

    fn urls() -> Urls {
        Urls {
            base_path: "/site/".into(),
            base_url: None,
            shared: None,
        }
    }

    /// A little deterministic generator (xorshift), so the sites are the same on every run.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self, below: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % below as u64) as usize
        }
    }

    /// Pages of words drawn from `words`, some pages far longer than others.
    fn site(pages: usize, words: &[&str], seed: u64) -> Vec<(String, String)> {
        let mut rng = Rng(seed);
        (0..pages)
            .map(|i| {
                let title = (0..1 + rng.next(4))
                    .map(|_| words[rng.next(words.len())])
                    .collect::<Vec<_>>()
                    .join(" ");
                let length = if i % 97 == 0 { 3000 } else { rng.next(80) };
                let body = (0..length)
                    .map(|_| words[rng.next(words.len())])
                    .collect::<Vec<_>>()
                    .join(" ");
                (title, format!("<p>{body}</p>"))
            })
            .collect()
    }

    /// Writes the index of `pages` and compares it, as JSON, with elasticlunr-rs's index of the
    /// same text; also that the bytes do not depend on the order the pages were rendered in.
    fn same_as_elasticlunr(pages: &[(String, String)]) {
        let urls = urls();
        let vocabulary = Vocabulary::default();
        // Rendered from the last page to the first, as a parallel render may: term numbers
        // then differ from the pages' order.
        let mut docs: Vec<Doc> = pages
            .iter()
            .enumerate()
            .rev()
            .map(|(i, (title, html))| {
                Doc::from_fragment(&format!("p{i}/"), title, html, &vocabulary)
            })
            .collect();
        docs.reverse();
        let refs: Vec<&Doc> = docs.iter().collect();
        let written = index_json(&refs, &vocabulary, &urls);
        let expected: Vec<_> = pages
            .iter()
            .enumerate()
            .map(|(i, (title, html))| {
                let text = text_of(html);
                (
                    title.clone(),
                    urls.url(&format!("p{i}/")),
                    snippet(&text),
                    terms(title),
                    terms(&text),
                )
            })
            .collect();
        tests::assert_same_index(&written, &oracle(&expected));
        // The same pages rendered in page order: the same bytes.
        let in_order = Vocabulary::default();
        let docs: Vec<Doc> = pages
            .iter()
            .enumerate()
            .map(|(i, (title, html))| Doc::from_fragment(&format!("p{i}/"), title, html, &in_order))
            .collect();
        let refs: Vec<&Doc> = docs.iter().collect();
        assert!(index_json(&refs, &in_order, &urls) == written);
    }

    #[test]
    fn a_small_site_is_indexed_as_elasticlunr_rs_would() {
        let words = [
            "rollback",
            "rollbacks",
            "roll",
            "rehearsal",
            "rehearsed",
            "a",
            "ab",
            "abc",
            "café",
            "naïve",
            "quote\"d",
            "back\\slash",
            "日本語",
            "flag",
            "flags",
            "the",
            "of",
            "00042",
            "v1.3.0",
            "expand-contract",
            "x",
        ];
        same_as_elasticlunr(&site(40, &words, 7));
    }

    #[test]
    fn a_site_of_thousands_of_pages_and_words_is_indexed_as_elasticlunr_rs_would() {
        // Over 1,000 pages (refs "10" before "9"), a vocabulary past one varint byte, counts
        // past one varint byte, and more postings than one pass gathers.
        let owned: Vec<String> = (0..3000)
            .map(|i| {
                let letters: String = format!("{i:x}")
                    .chars()
                    .map(|c| (b'g' + c.to_digit(16).unwrap() as u8) as char)
                    .collect();
                format!("w{letters}")
            })
            .chain(["ledger", "migration", "schema"].map(String::from))
            .collect();
        let words: Vec<&str> = owned.iter().map(String::as_str).collect();
        let pages = site(1100, &words, 42);
        same_as_elasticlunr(&pages);
    }

    #[test]
    fn an_empty_site_is_indexed_as_elasticlunr_rs_would() {
        same_as_elasticlunr(&[]);
        same_as_elasticlunr(&[(String::new(), String::new())]);
    }

    #[test]
    fn stored_documents_come_back_numbered_in_the_next_builds_vocabulary() {
        let first = Vocabulary::default();
        let docs = [
            Doc::from_fragment(
                "a/",
                "Rollback",
                "<p>rollout undo, rollback twice</p>",
                &first,
            ),
            Doc::from_fragment("b/", "Flags", "<p>flag retired; rollout</p>", &first),
        ];
        let mut store = Vec::new();
        write_store(docs.iter(), &first, &mut store).unwrap();
        // The next build met other terms first: every number differs.
        let next = Vocabulary::default();
        Doc::from_fragment("c/", "Zebra", "<p>quagga yak</p>", &next);
        let mut renumbering = Renumbering::default();
        let mut back = Vec::new();
        read_store(&store, &mut |terms, stored| {
            back.push(Doc::from_stored(stored, terms, &mut renumbering, &next).unwrap());
        });
        assert_eq!(back.len(), 2);
        for (doc, again) in docs.iter().zip(&back) {
            assert_eq!((&again.path, &again.title), (&doc.path, &doc.title));
            assert_eq!((&again.snippet, again.key), (&doc.snippet, doc.key));
            for field in 0..2 {
                assert_eq!(
                    field_text(&again.fields[field], &next),
                    field_text(&doc.fields[field], &first)
                );
                assert_eq!(again.fields[field].length, doc.fields[field].length);
            }
        }
        // A damaged store gives what it can and never panics.
        for cut in 0..store.len() {
            let mut damaged = store.clone();
            damaged[cut] ^= 0xff;
            read_store(&damaged, &mut |terms, stored| {
                let _ = Doc::from_stored(stored, terms, &mut Renumbering::default(), &next);
            });
            read_store(&store[..cut], &mut |_, _| {});
        }
    }

    #[test]
    fn fields_keep_each_term_and_its_count() {
        let vocabulary = Vocabulary::default();
        let many = "flag ".repeat(300);
        let mut numbers = Vec::new();
        let mut stems = Stems::default();
        stems.use_vocabulary(&vocabulary);
        stems.numbers_into(&format!("{many}rollback flags"), &vocabulary, &mut numbers);
        let field = Field::new(&mut numbers, &mut Vec::new());
        assert_eq!(field.length, 302);
        let mut counted: Vec<(String, u32)> = {
            let terms = vocabulary.terms.lock().unwrap();
            field
                .terms()
                .map(|(t, c)| (terms.list()[t as usize].to_string(), c))
                .collect()
        };
        counted.sort();
        assert_eq!(
            counted,
            [("flag".to_string(), 301), ("rollback".to_string(), 1)]
        );
    }
}
