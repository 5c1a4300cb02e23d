#!/usr/bin/env bash
# benches/site-build.sh: the site build benchmark, clinic against Hugo, side by side.
#
#   benches/site-build.sh                 # 10,000 pages, 3 interleaved runs of each build
#   N=1000 RUNS=5 benches/site-build.sh   # smaller corpus, more runs
#
# What it does:
#   1. builds clinic in release mode (cargo build --release; CLINIC_BIN=path skips this);
#   2. generates the corpus with ../shared/bench/make-corpus.sh N, cached in $CORPUS_DIR
#      (default /tmp/clinic-bench-corpus) and regenerated when missing, incomplete, or made for
#      another N or by another version of make-corpus.sh;
#   3. uses $CORPUS_DIR/plain as the clinic site root (it holds content/, the corpus' pages; the
#      handbook embedded in the binary is built along with them);
#   4. runs, interleaved in one run, RUNS times each:
#        clinic-hl    clinic build (highlighting on, the default)
#        clinic-nohl  clinic build of a copy of the corpus whose ```sql / ```bash fences are
#                     ```text, so no syntax highlighting runs (clinic has no switch for it)
#        hugo-hl      hugo -s $CORPUS_DIR/hugo -d OUT
#        hugo-nohl    the same with the corpus' config-nohl.toml (codeFences = false); HUGO_NOHL=0
#                     leaves it out
#      each under /usr/bin/time -f '%e %M %U %S' (wall s, peak RSS KiB, user s, sys s), into a
#      fresh output directory under $OUT_BASE (default /dev/shm/clinic-bench, a tmpfs: CPU
#      figures, not disk figures; the file system type is printed), deleted after each run;
#      clinic-noop  clinic build again into clinic-hl's output, nothing changed (in place)
#      clinic-edit  the same after one page's body was edited (put back afterwards)
#   5. prints medians: wall time, pages/second, peak RSS, CPU time, and the ratio to Hugo, and
#      checks the targets (clinic-hl <= 0.2 of hugo-hl's wall time, peak RSS < 100 MiB, a build
#      with nothing changed < 1 s).
#
# Environment: N (10000), RUNS (3), CORPUS_DIR, OUT_BASE, CLINIC_BIN, HUGO (hugo), HUGO_NOHL (1),
# ALLOW_BUILD_ERRORS=1 (measure a clinic build that exits 1 for content/template errors),
# MAKE_CORPUS (../shared/bench/make-corpus.sh), RESULTS (raw measurements, TSV; default
# $OUT_BASE/results.tsv), STRICT=1 (exit 3 when a target is missed; otherwise the exit code is 0
# whatever the figures, non-zero only when a build fails or its output is wrong). The machine is noisy: compare the ratios of one run, not absolute
# seconds across runs.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
N="${N:-10000}"
RUNS="${RUNS:-3}"
CORPUS_DIR="${CORPUS_DIR:-/tmp/clinic-bench-corpus}"
if [ -z "${OUT_BASE:-}" ]; then
  if [ -d /dev/shm ] && [ -w /dev/shm ]; then OUT_BASE=/dev/shm/clinic-bench; else OUT_BASE=/tmp/clinic-bench-out; fi
fi
HUGO="${HUGO:-hugo}"
HUGO_NOHL="${HUGO_NOHL:-1}"
MAKE_CORPUS="${MAKE_CORPUS:-$repo/../shared/bench/make-corpus.sh}"
RESULTS="${RESULTS:-$OUT_BASE/results.tsv}"
TIME=/usr/bin/time

die() { echo "site-build.sh: $*" >&2; exit 1; }
case "$N" in (*[!0-9]*|'') die "N must be a positive integer";; esac
case "$RUNS" in (*[!0-9]*|''|0) die "RUNS must be a positive integer";; esac
[ -x "$TIME" ] || die "$TIME is missing (apt-get install -y time)"
command -v "$HUGO" >/dev/null || die "hugo is missing (apt-get install -y hugo)"
command -v python3 >/dev/null || die "python3 is missing"
[ -f "$MAKE_CORPUS" ] || die "no corpus generator at $MAKE_CORPUS (set MAKE_CORPUS)"

# ---- 1. clinic, release build ----------------------------------------------------------------
built_here=0
if [ -z "${CLINIC_BIN:-}" ]; then
  built_here=1
  echo "== cargo build --release ($repo)" >&2
  cargo build --release --quiet --manifest-path "$repo/Cargo.toml"
  target_dir="$(cargo metadata --format-version 1 --no-deps --manifest-path "$repo/Cargo.toml" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
  CLINIC_BIN="$target_dir/release/clinic"
fi
[ -x "$CLINIC_BIN" ] || die "no clinic binary at $CLINIC_BIN"

# ---- 2. corpus (cached) ----------------------------------------------------------------------
stamp_want="$N $(sha256sum "$MAKE_CORPUS" | cut -c1-16) nohl-v1"
stamp="$CORPUS_DIR/.clinic-bench-stamp"
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$stamp_want" ]; then
  echo "== generating a $N-page corpus in $CORPUS_DIR" >&2
  case "$CORPUS_DIR" in (/|"$HOME"|"$repo"|"$repo"/*) die "refusing CORPUS_DIR=$CORPUS_DIR";; esac
  # make-corpus.sh empties the directory: only ever let it replace an earlier corpus.
  if [ -n "$(ls -A "$CORPUS_DIR" 2>/dev/null)" ] && [ ! -f "$stamp" ] && [ ! -d "$CORPUS_DIR/plain/content" ]; then
    die "$CORPUS_DIR is not empty and holds no corpus: choose another CORPUS_DIR"
  fi
  bash "$MAKE_CORPUS" "$N" "$CORPUS_DIR" >&2
  # ---- 5a. the same pages with no language on their fences: no highlighting runs ----
  rm -rf "$CORPUS_DIR/plain-nohl"
  mkdir -p "$CORPUS_DIR/plain-nohl"
  cp -r "$CORPUS_DIR/plain/content" "$CORPUS_DIR/plain-nohl/content"
  find "$CORPUS_DIR/plain-nohl/content" -name '*.md' -print0 \
    | xargs -0 -n 2000 sed -i -E 's/^```(sql|bash)[[:space:]]*$/```text/'
  left="$(grep -rlE '^```(sql|bash)' "$CORPUS_DIR/plain-nohl/content" | wc -l || true)"
  [ "$left" = 0 ] || die "$left files in plain-nohl still name a highlighted language"
  echo "$stamp_want" > "$stamp"
fi
posts="$(find "$CORPUS_DIR/plain/content/posts" -name 'page-*.md' | wc -l)"
[ "$posts" = "$N" ] || die "corpus has $posts pages, expected $N"

# ---- 3./4. interleaved runs ------------------------------------------------------------------
mkdir -p "$OUT_BASE"
fs_type="$(stat -f -c %T "$OUT_BASE")"
logs="$OUT_BASE/logs"
rm -rf "$logs"; mkdir -p "$logs"
printf 'tool\trun\twall_s\tmaxrss_kib\tuser_s\tsys_s\n' > "$RESULTS"

# run NAME RUN_NO OUT_DIR CMD...: times CMD, checks it, appends one line to $RESULTS.
run() {
  local name="$1" i="$2" out="$3"; shift 3
  local tfile="$logs/$name-$i.time" log="$logs/$name-$i.log" rc=0
  [ "${KEEP_OUT:-0}" = 1 ] || rm -rf "$out"
  sync
  "$TIME" -f '%e %M %U %S' -o "$tfile" "$@" >"$log" 2>&1 || rc=$?
  # clinic exits 1 when content or templates have errors but still writes the site;
  # ALLOW_BUILD_ERRORS=1 measures such a build anyway (the output is still checked).
  if [ "$rc" = 1 ] && [ "${ALLOW_BUILD_ERRORS:-0}" = 1 ] && [ "${name#clinic}" != "$name" ]; then
    echo "  $name run $i exited with 1 (ALLOW_BUILD_ERRORS=1): $(grep -c '^error' "$log") errors" >&2
    rc=0
  fi
  if [ "$rc" != 0 ]; then
    tail -n 20 "$log" >&2
    die "$name run $i exited with $rc (log: $log)"
  fi
  check "$name" "$out"
  read -r wall rss user sys < <(tail -n 1 "$tfile")
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$i" "$wall" "$rss" "$user" "$sys" >> "$RESULTS"
  printf '  %-12s run %s: %6.2f s wall, %5d MiB peak RSS, %6.2f s CPU\n' \
    "$name" "$i" "$wall" "$((rss / 1024))" "$(python3 -c "print($user + $sys)")" >&2
  [ "${KEEP_OUT:-0}" = 1 ] || rm -rf "$out"
}

# check NAME OUT: the output holds every corpus page, highlighted or not as the variant says.
check() {
  local name="$1" out="$2" page
  local built
  built="$(find "$out/posts" -mindepth 2 -maxdepth 2 -name index.html | wc -l)"
  [ "$built" -ge "$N" ] || die "$name wrote $built post pages, expected $N"
  page="$out/posts/page-00001/index.html"
  [ -f "$page" ] || die "$name: no $page"
  case "$name" in
    clinic-hl|clinic-noop|clinic-edit) grep -q 'class="hl-' "$page" || die "$name: $page has no highlighting" ;;
    clinic-nohl) ! grep -q 'class="hl-' "$page" || die "$name: $page is highlighted" ;;
    hugo-hl) grep -q '<div class="highlight">' "$page" || die "$name: $page has no highlighting" ;;
    hugo-nohl) ! grep -q '<div class="highlight">' "$page" || die "$name: $page is highlighted" ;;
  esac
}

echo "== $RUNS interleaved runs, N=$N, outputs under $OUT_BASE ($fs_type)" >&2
echo "   clinic: $CLINIC_BIN" >&2
edited="$CORPUS_DIR/plain/content/posts/page-00042.md"
for i in $(seq 1 "$RUNS"); do
  # The whole build, then into the same output: nothing changed (clinic-noop), then one page's
  # body edited (clinic-edit, the page put back afterwards).
  KEEP_OUT=1 run clinic-hl "$i" "$OUT_BASE/clinic-hl" \
    "$CLINIC_BIN" build --quiet --root "$CORPUS_DIR/plain" --out "$OUT_BASE/clinic-hl"
  KEEP_OUT=1 run clinic-noop "$i" "$OUT_BASE/clinic-hl" \
    "$CLINIC_BIN" build --quiet --root "$CORPUS_DIR/plain" --out "$OUT_BASE/clinic-hl"
  cp "$edited" "$OUT_BASE/edited.md"
  printf '\nOne more paragraph, run %s.\n' "$i" >> "$edited"
  KEEP_OUT=1 run clinic-edit "$i" "$OUT_BASE/clinic-hl" \
    "$CLINIC_BIN" build --quiet --root "$CORPUS_DIR/plain" --out "$OUT_BASE/clinic-hl"
  cp "$OUT_BASE/edited.md" "$edited"
  rm -rf "$OUT_BASE/clinic-hl"
  run hugo-hl "$i" "$OUT_BASE/hugo-hl" \
    "$HUGO" --quiet -s "$CORPUS_DIR/hugo" -d "$OUT_BASE/hugo-hl"
  run clinic-nohl "$i" "$OUT_BASE/clinic-nohl" \
    "$CLINIC_BIN" build --quiet --root "$CORPUS_DIR/plain-nohl" --out "$OUT_BASE/clinic-nohl"
  if [ "$HUGO_NOHL" = 1 ]; then
    run hugo-nohl "$i" "$OUT_BASE/hugo-nohl" \
      "$HUGO" --quiet -s "$CORPUS_DIR/hugo" --config config-nohl.toml -d "$OUT_BASE/hugo-nohl"
  fi
done

# ---- 6. table --------------------------------------------------------------------------------
echo
if [ "$built_here" = 1 ]; then
  what="$(cd "$repo" && git rev-parse --short HEAD 2>/dev/null || echo '?')$(cd "$repo" && [ -n "$(git status --porcelain -- src theme Cargo.toml 2>/dev/null)" ] && echo ', with uncommitted changes')"
else
  what="CLINIC_BIN, not built from $repo"
fi
echo "clinic $("$CLINIC_BIN" --version | cut -d' ' -f2) ($what) vs $("$HUGO" version | cut -d' ' -f1-2)"
echo "binary: $CLINIC_BIN"
echo "$N pages (~$((N * 31)) code lines), $RUNS interleaved runs each, $(nproc) CPUs, output on $OUT_BASE ($fs_type)"
status=0
python3 - "$RESULTS" "$N" "$RUNS" "${STRICT:-0}" <<'PY' || status=$?
import csv, statistics, sys
path, n, runs, strict = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1"
rows = list(csv.DictReader(open(path), delimiter="\t"))
tools = [t for t in ["clinic-hl", "clinic-noop", "clinic-edit", "clinic-nohl", "hugo-hl", "hugo-nohl"] if any(r["tool"] == t for r in rows)]
runs_of = {t: {r["run"]: r for r in rows if r["tool"] == t} for t in tools}
wall = lambda r: float(r["wall_s"])
cpu = lambda r: float(r["user_s"]) + float(r["sys_s"])
rss = lambda r: int(r["maxrss_kib"]) / 1024
med = lambda t, f: statistics.median(f(r) for r in runs_of[t].values())
def paired(a, b):
    """Median over runs of a/b wall time, each pair measured back to back."""
    return statistics.median(wall(runs_of[a][k]) / wall(runs_of[b][k]) for k in runs_of[a] if k in runs_of[b])
same = lambda t: "hugo-hl" if t.endswith(("-hl", "-noop", "-edit")) or "hugo-nohl" not in tools else "hugo-nohl"
print()
print("| build | median wall s | runs (s) | pages/s | peak RSS MiB | CPU s | wall / Hugo | paired wall / Hugo | CPU / Hugo |")
print("|---|---:|---|---:|---:|---:|---:|---:|---:|")
for t in tools:
    h = same(t)
    if t.startswith("clinic"):
        ratios = "%.3f | %.3f | %.3f" % (med(t, wall) / med(h, wall), paired(t, h), med(t, cpu) / med(h, cpu))
    else:
        ratios = "- | - | -"
    print("| %s | %.2f | %s | %.0f | %.0f | %.2f | %s |" % (
        t, med(t, wall), " ".join("%.2f" % wall(r) for r in runs_of[t].values()), n / med(t, wall),
        max(rss(r) for r in runs_of[t].values()), med(t, cpu), ratios))
print()
print("(ratios compare clinic-hl with hugo-hl and clinic-nohl with %s; 'paired' is the median of" % same("clinic-nohl"))
print(" the per-run ratios, each pair run back to back, which is steadier on a busy machine; peak RSS is")
print(" the worst run)")
ratio = med("clinic-hl", wall) / med("hugo-hl", wall)
# The memory target is the whole build's; an in-place build's figures are in the table.
worst = max(rss(r) for t in ["clinic-hl", "clinic-nohl"] if t in tools for r in runs_of[t].values())
print("target: clinic-hl wall <= 0.2 x hugo-hl wall: %.3f (paired %.3f) -> %s" % (
    ratio, paired("clinic-hl", "hugo-hl"), "PASS" if ratio <= 0.2 else "FAIL"))
print("target: clinic whole-build peak RSS < 100 MiB: %.0f MiB -> %s" % (worst, "PASS" if worst < 100 else "FAIL"))
noop = med("clinic-noop", wall)
print("target: second build with nothing changed (clinic-noop) < 1 s: %.2f s -> %s; one page edited (clinic-edit): %.2f s" % (
    noop, "PASS" if noop < 1 else "FAIL", med("clinic-edit", wall)))
print("clinic-nohl / hugo-hl wall: %.3f; highlighting share of clinic-hl's CPU time: %.0f%%" % (
    med("clinic-nohl", wall) / med("hugo-hl", wall), 100 * (1 - med("clinic-nohl", cpu) / med("clinic-hl", cpu))))
sys.exit(3 if strict and not (ratio <= 0.2 and worst < 100 and noop < 1) else 0)
PY
echo
echo "raw measurements: $RESULTS; logs: $logs"
exit "$status"
