//! Robustness of every parser on arbitrary input: no panic, bounded time, bounded output.
//!
//! Each property test feeds a few hundred inputs made by a small deterministic generator that
//! splices fragments of the repository's fixtures with random bytes and repetitions, through the
//! same entry points the fuzz targets in `fuzz/` use (`clinic::fuzzing`). The regression tests at
//! the end are the inputs the fuzzers found, minimised.

use std::path::Path;
use std::time::Duration;

use clinic::fuzzing;

/// The most CPU time any single input may cost (generous: a debug build). Runaway inputs (the
/// exponential cases below) cost minutes without their bounds.
const MAX_TIME: Duration = Duration::from_secs(3);

/// The CPU time this thread has used: what an input costs the parser, however busy the machine
/// is (wall time on a loaded 2-core machine was twice the cost, and made the bound flaky).
#[cfg(unix)]
fn thread_cpu() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid timespec for the call to fill.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

/// Elsewhere, the wall time since the first call: the bound holds on an idle machine.
#[cfg(not(unix))]
fn thread_cpu() -> Duration {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    START.get_or_init(std::time::Instant::now).elapsed()
}

/// SplitMix64: small, deterministic, good enough to pick fragments and bytes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The files under `dir` (recursively) whose names end with one of `exts`.
fn fixture_files(dir: &str, exts: &[&str]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut stack = vec![root().join(dir)];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                stack.push(p);
            } else if exts.iter().any(|e| p.to_string_lossy().ends_with(e)) {
                if let Ok(bytes) = std::fs::read(&p) {
                    out.push(bytes);
                }
            }
        }
    }
    out
}

/// Bytes that matter to the parsers: structure, quoting, YAML and shell punctuation.
const SPECIAL: &[u8] = b"\n\n\r\t -:#>*&|[]{}()<>\"'`$\\;,.!?=%@~^_0\xef\xbb\xbf";

/// One input: fragments of `pool` (whole, cut, or repeated), `extra` snippets, and random bytes.
fn generate(rng: &mut Rng, pool: &[Vec<u8>], extra: &[&str]) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..1 + rng.below(4) {
        match rng.below(6) {
            0 | 1 => {
                let frag = rng.pick(pool);
                if frag.is_empty() {
                    continue;
                }
                let a = rng.below(frag.len());
                let b = a + rng.below(frag.len() - a + 1);
                out.extend_from_slice(&frag[a..b]);
            }
            2 => out.extend_from_slice(rng.pick(pool).as_slice()),
            3 => out.extend_from_slice(rng.pick(extra).as_bytes()),
            4 => {
                let piece = rng.pick(extra).as_bytes();
                for _ in 0..rng.below(200) {
                    out.extend_from_slice(piece);
                }
            }
            _ => {
                for _ in 0..rng.below(64) {
                    let b = if rng.below(3) == 0 {
                        rng.next() as u8
                    } else {
                        *rng.pick(SPECIAL)
                    };
                    out.push(b);
                }
            }
        }
    }
    // A few point mutations in what came out.
    for _ in 0..rng.below(4) {
        if out.is_empty() {
            break;
        }
        let i = rng.below(out.len());
        out[i] = *rng.pick(SPECIAL);
    }
    out
}

/// Runs `parse` on `count` generated inputs (and on every pool entry as is), checking time and
/// output size. The output must stay within `slack + factor * input length`.
fn property(
    name: &str,
    seed: u64,
    count: usize,
    pool: &[Vec<u8>],
    extra: &[&str],
    parse: impl Fn(&[u8]) -> usize,
) {
    assert!(!pool.is_empty(), "{name}: no fixtures found");
    let mut rng = Rng(seed);
    let inputs = pool
        .iter()
        .cloned()
        .chain((0..count).map(|_| generate(&mut rng, pool, extra)));
    let (mut total_in, mut total_out) = (0, 0);
    for input in inputs {
        let start = thread_cpu();
        let size = parse(&input);
        total_in += input.len();
        total_out += size;
        let took = thread_cpu() - start;
        assert!(
            took < MAX_TIME,
            "{name}: {took:?} on {:?}",
            String::from_utf8_lossy(&input)
        );
        let bound = 1024 * 1024 + 64 * input.len();
        assert!(
            size <= bound,
            "{name}: output {size} over {bound} on {:?}",
            String::from_utf8_lossy(&input)
        );
    }
    eprintln!("{name}: {count} generated inputs, {total_in} bytes in, {total_out} out");
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn markdown_pool() -> Vec<Vec<u8>> {
    let mut pool = fixture_files("content", &[".md"]);
    pool.extend(fixture_files("library/raw", &[".md"]));
    pool.extend(fixture_files("tests/fixtures", &[".md", ".yaml"]));
    pool
}

#[test]
fn front_matter_and_yaml_never_panic() {
    let extra = [
        "---\n",
        "...\n",
        "---  \n",
        "a: &x [1, 2]\n",
        "b: *x\n",
        "<<: *x\n",
        "c: {d: [e, {f: g}]}\n",
        "- &a [*a]\n",
        "title: \"unterminated\n",
        "? complex\n: key\n",
        "!!binary aGk=\n",
        "x: !tag 1\n",
        "'\\u{feff}---\n",
        "key: |\n  block\n",
        "\t- tab\n",
        "&a a: b\n",
        "[[[[[[[[",
    ];
    property("front matter", 1, 1000, &markdown_pool(), &extra, |b| {
        fuzzing::front_matter(&text(b))
    });
}

#[test]
fn markdown_and_sanitiser_never_panic() {
    let extra = [
        "# Title {#id .class}\n",
        "> ",
        "- ",
        "1. ",
        "```rust\nfn x() {}\n```\n",
        "```\n",
        "| a | b |\n|---|:-:|\n",
        "[^1]: note\n",
        "[link](../x.md#frag)",
        "![img](a.png)",
        "<script>alert(1)</script>",
        "<div>",
        "</div>",
        "<a href=\"javascript:x\">",
        "**",
        "~~",
        "- [ ] task\n",
        "&amp;&#x0;",
        "\\",
        "    code\n",
        "<details><summary>",
    ];
    property("markdown", 2, 600, &markdown_pool(), &extra, |b| {
        fuzzing::markdown(&text(b))
    });
}

#[test]
fn artifacts_never_panic() {
    let pool = fixture_files("library/raw", &[".md"]);
    let extra = [
        "---\n",
        "title: x\n",
        "timeline:\n  - at: 2026-01-01 10:00\n    mark: deployed\n",
        "expand:\n  up: db/x.sql\n",
        "flag: new_checkout\n",
        "break_commit: abc\n",
        "\u{0}\u{fffd}",
        "ci_run: https://x/actions/runs/1\n",
        "---\nbody text here ok\n",
    ];
    property("artifact", 3, 1000, &pool, &extra, fuzzing::artifact);
}

#[test]
fn roster_never_panics() {
    let pool: Vec<Vec<u8>> = vec![
        b"title: Cohort\nstudents:\n  - name: Ada Lovelace\n    repo: https://github.com/ada/clinic\n  - name: Bob\n    evidence: bob/evidence.json\n    slug: bob\n".to_vec(),
        b"students:\n  - name: x\n    repo: ../x\npolicy:\n  release_tag_pattern: 'v*'\n  utc_offset_minutes: 60\n".to_vec(),
        b"title: t\nstudents: []\nextra: 1\n".to_vec(),
    ];
    let extra = [
        "students:\n",
        "  - name: ",
        "    repo: ",
        "    evidence: ",
        "    slug: ",
        "policy:\n",
        "  - ",
        "\n",
        "a/b",
        "https://",
        "file:///etc/passwd",
        "..",
        "&x ",
        "*x",
        "'",
        "\"",
    ];
    property("roster", 4, 1000, &pool, &extra, |b| {
        fuzzing::roster(&text(b))
    });
}

#[test]
fn sql_classifier_never_panics() {
    let mut pool = fixture_files("src/commands/demo/story/db", &[".sql"]);
    pool.push(b"ALTER TABLE users ADD COLUMN display_name text;\nUPDATE users SET display_name = full_name WHERE display_name IS NULL;\n".to_vec());
    pool.push(
        b"CREATE INDEX CONCURRENTLY idx ON orders (user_id);\nDROP TABLE IF EXISTS old;\n".to_vec(),
    );
    pool.push(
        b"DO $$ BEGIN EXECUTE 'DROP TABLE x'; END $$;\n-- comment\n/* block /* nested */ */\n"
            .to_vec(),
    );
    let extra = [
        ";",
        "'",
        "\"",
        "$$",
        "$tag$",
        "--",
        "/*",
        "*/",
        "(",
        ")",
        "ALTER TABLE \"T\" ",
        "ADD COLUMN c int NOT NULL DEFAULT 1",
        "UPDATE t SET ",
        "BEGIN;",
        "COMMIT;",
        "E'\\'",
        "U&\"x\"",
        "\r",
    ];
    property("sql", 5, 600, &pool, &extra, |b| fuzzing::sql(&text(b)));
}

fn shell_pool() -> Vec<Vec<u8>> {
    let mut pool = fixture_files("src/commands/demo/story", &[".sh"]);
    pool.push(b"#!/usr/bin/env bash\nset -euo pipefail\ncheck_health() { curl -fsS \"$BASE_URL/health\"; }\ncheck_health\n".to_vec());
    pool.push(b"scripts/smoke.sh\n".to_vec());
    pool.push(b"cd app && bash ../scripts/smoke.sh || exit 1\n".to_vec());
    pool
}

const SHELL_EXTRA: &[&str] = &[
    "check_x() {",
    "}",
    "$(",
    ")",
    "`",
    "${x:-y}",
    "if [ \"$a\" = b ]; then",
    "fi",
    "while true; do",
    "done",
    "for i in 1 2; do",
    "case $x in a) ;; esac",
    "[[ -n $x && $y =~ z ]]",
    "| tee log",
    "|| true",
    "&& exit 1",
    "set +e\n",
    "eval \"$x\"",
    "source x",
    "curl -f -o /dev/null -w '%{http_code}' ",
    "wget -q ",
    "http GET ",
    "<<EOF\nhi\nEOF\n",
    "f() { f; }; f\n",
    "exit $?",
    "trap 'exit 1' ERR\n",
    "((i++))",
    "'",
    "\"",
    "\\\n",
];

#[test]
fn smoke_script_reader_never_panics() {
    property("shell smoke", 6, 600, &shell_pool(), SHELL_EXTRA, |b| {
        fuzzing::shell_smoke(&text(b))
    });
}

#[test]
fn step_reader_never_panics() {
    property(
        "shell step",
        7,
        600,
        &shell_pool(),
        SHELL_EXTRA,
        fuzzing::shell_step,
    );
}

#[test]
fn workflow_reader_never_panics() {
    let pool = fixture_files("src/commands/demo/story/workflows", &[".yml"]);
    let extra = [
        "jobs:\n",
        "  smoke:\n",
        "    needs: [a, b]\n",
        "    if: ${{ success() && github.ref == 'refs/heads/main' }}\n",
        "    steps:\n",
        "      - run: scripts/smoke.sh\n",
        "      - run: |\n          bash scripts/smoke.sh || true\n",
        "        shell: bash\n",
        "        working-directory: app\n",
        "        continue-on-error: ${{ matrix.x }}\n",
        "    uses: ./.github/workflows/smoke.yml\n",
        "    environment: production\n",
        "  a: &j\n",
        "  b:\n    <<: *j\n",
        "on: workflow_call\n",
        "defaults:\n  run:\n    shell: sh {0}\n",
        "${{",
        "}}",
        "!",
        "(",
        ")",
    ];
    property("workflow", 8, 600, &pool, &extra, |b| {
        fuzzing::workflow(&text(b))
    });
}

// Regressions: the inputs the fuzzers found, minimised.

/// Found by `shell_step`: a run of `(` that does not parse made brush-parser backtrack
/// exponentially (24 took 10 s, the fuzzer's 95 would take years). Now refused unparsed, with
/// an `unseen` finding, in both readers. Then `((x ` twelve times (5 s): the guard is now on
/// the nesting depth of `(`, not on runs.
#[test]
fn regression_long_run_of_open_parens_is_refused_fast() {
    let cases = [
        format!("{}x", "(".repeat(95)),
        format!("{}x)", "( ".repeat(40)),
        format!("{}x", "((".repeat(30)),
        format!("{}x", "(\\\n".repeat(30)),
        format!("\u{b}{}shell\u{da}:", "(".repeat(95)),
        // Found later by `shell_step` (minimised): open `((` separated by words.
        "((x ".repeat(12),
        "\u{3}(( l(9 {\u{3}((cod<<<<( soe{\u{3}((<<<_all((( c<\u{fffd}<<<( sodell() {\u{3}(( cod<<<<<<<<<8<{\u{3}((all() {\u{3}(( cod<<<\u{fffd}<<<( sod><<<_all() {\u{3}(( cod<<<<<<<<<8<<<<<<<".to_string(),
    ];
    for text in &cases {
        let start = thread_cpu();
        fuzzing::shell_smoke(text);
        fuzzing::shell_step(format!("\0{text}").as_bytes());
        fuzzing::shell_step(format!("\u{b}{text}").as_bytes());
        let took = thread_cpu() - start;
        assert!(took < MAX_TIME, "{took:?} on {text:?}");
    }
}

/// Found by `shell_smoke`: brush-parser 0.4 panics (`ParseIntError` unwrapped) on an io number
/// that does not fit an `i32`. The panic was caught, but printed a panic message; now such a
/// script is refused before the parser, as `unseen`.
#[test]
fn regression_oversized_io_number_does_not_reach_the_parser() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static PANICS: AtomicUsize = AtomicUsize::new(0);
    // The reader catches the parser's panics; count them instead of printing them.
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {
        PANICS.fetch_add(1, Ordering::SeqCst);
    }));
    for text in [
        "8888888888888888888888888888888888888888888888888<&\u{4}",
        "echo 99999999999>out\n",
        "cat 2147483648<in\n",
        "echo 99999\\\n999999>out\n",
    ] {
        fuzzing::shell_smoke(text);
        fuzzing::shell_step(format!("\0{text}").as_bytes());
    }
    std::panic::set_hook(previous);
    assert_eq!(
        PANICS.load(Ordering::SeqCst),
        0,
        "the shell parser panicked"
    );
}

/// Found by `shell_smoke`: brush-parser's tokenizer grew a token without end (over 2 GB from
/// 98 bytes) when the text ended, without a newline, in a here-document operator inside an
/// unclosed `$(` or `$[`. The reader now parses the text with a final newline.
#[test]
fn regression_here_doc_at_end_of_unclosed_substitution_is_bounded() {
    for text in [
        "$(x<<  ",
        "$(\"\"<<  ",
        "$[\"$[]\"<< )- ",
        "$(\"$[]\"<< )- ",
        "(( c & ]&e xode20 >= eval \";;$[Token::e xode20 >= eval \";;$[Token::Word(w, l)]A:-}\"\n3<< ))AS/ f$- ",
    ] {
        let start = thread_cpu();
        fuzzing::shell_smoke(text);
        fuzzing::shell_step(format!("\0{text}").as_bytes());
        let took = thread_cpu() - start;
        assert!(took < MAX_TIME, "{took:?} on {text:?}");
    }
}

/// Reported by `shell_smoke` as a timeout (the 10-minute run after the fixes above): a `check_`
/// function that calls itself twice spends each run's whole step budget (`FUEL`) re-entering
/// the recursion, 2^24 calls deep if nothing stopped it. The budget stops it: 7 s per input
/// under the fuzzer's sanitizer on a loaded machine, about 1 s in a debug build.
#[test]
fn regression_recursive_check_function_is_bounded() {
    let text = "check_home() {\n \u{01}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00} local commandcodefunction\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00} | '\\\"' | '$' | '`']KE_E/XTRE_EX*l   if # sc\n# Smoders || :\ncheck_home\nction \u{00}\u{00}\u{00}\u{03}usab\u{045d}timcc check~v\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00} | '\\\"' | '$' | '`']KE_E/XTRE_EX*l   if # sc\n# Smoders || :\ncheck_home\nction \u{00}\u{00}\u{00}\u{03}usab\u{045d}timcc\ncheeho\u{00}qq\n}\n\n";
    let start = thread_cpu();
    fuzzing::shell_smoke(text);
    let took = thread_cpu() - start;
    assert!(took < MAX_TIME, "{took:?}");
}
