#!/usr/bin/env bash
# benches/search-cost.sh: what the search index adds to a build, on the benchmark corpus.
#
#   benches/search-cost.sh                  # 10,000 pages, 5 interleaved runs of each build
#   N=1000 RUNS=3 benches/search-cost.sh
#
# Builds $CORPUS_DIR/plain (made by ../shared/bench/make-corpus.sh N, as benches/site-build.sh
# does) twice per run, interleaved: as it is (search on, the default) and from a copy whose
# clinic.yaml says `search: false`. Each build goes into a fresh directory under $OUT_BASE (a
# tmpfs when there is one) under /usr/bin/time. Prints the median wall and CPU (user+sys) time
# of each, the difference, and the index's size (raw and gzip -9, as Pages would serve it).
#
# Environment: N (10000), RUNS (5), CORPUS_DIR (/tmp/clinic-bench-corpus), OUT_BASE,
# CLINIC_BIN (default: cargo build --release), MAKE_CORPUS (../shared/bench/make-corpus.sh).
# The machine may be shared: compare the two rows of one run, not seconds across runs.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
N="${N:-10000}"
RUNS="${RUNS:-5}"
CORPUS_DIR="${CORPUS_DIR:-/tmp/clinic-bench-corpus}"
if [ -z "${OUT_BASE:-}" ]; then
  if [ -d /dev/shm ] && [ -w /dev/shm ]; then OUT_BASE=/dev/shm/clinic-search-bench; else OUT_BASE=/tmp/clinic-search-bench; fi
fi
MAKE_CORPUS="${MAKE_CORPUS:-$repo/../shared/bench/make-corpus.sh}"
TIME=/usr/bin/time
die() { echo "search-cost.sh: $*" >&2; exit 1; }
[ -x "$TIME" ] || die "$TIME is missing (apt-get install -y time)"

if [ -z "${CLINIC_BIN:-}" ]; then
  (cd "$repo" && cargo build --release --quiet)
  CLINIC_BIN="$repo/target/release/clinic"
fi
pages="$(find "$CORPUS_DIR/plain/content" -name '*.md' 2>/dev/null | wc -l || true)"
if [ "$pages" -lt "$N" ]; then
  [ -f "$MAKE_CORPUS" ] || die "no corpus generator at $MAKE_CORPUS (set MAKE_CORPUS)"
  bash "$MAKE_CORPUS" "$N" "$CORPUS_DIR" >/dev/null
fi
off="$CORPUS_DIR/plain-search-off"
rm -rf "$off" && mkdir -p "$off"
cp -r "$CORPUS_DIR/plain/content" "$off/"
echo "search: false" >"$off/clinic.yaml"
mkdir -p "$OUT_BASE"
results="$OUT_BASE/results.tsv"
: >"$results"

one() { # name root
  local out="$OUT_BASE/out-$1"
  rm -rf "$out"
  "$TIME" -f "%e %U %S" -o "$OUT_BASE/time" "$CLINIC_BIN" build --quiet --root "$2" --out "$out" >/dev/null
  read -r wall user sys <"$OUT_BASE/time"
  printf '%s\t%s\t%s\n' "$1" "$wall" "$(echo "$user + $sys" | bc)" >>"$results"
  if [ "$1" = on ]; then
    stat -c %s "$out/search-index.json" >"$OUT_BASE/index-bytes"
    gzip -9c "$out/search-index.json" | wc -c >"$OUT_BASE/index-gzip"
  fi
  rm -rf "$out"
}
for run in $(seq "$RUNS"); do
  one on "$CORPUS_DIR/plain"
  one off "$off"
  echo "run $run of $RUNS done" >&2
done
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
for name in on off; do
  wall="$(awk -v n="$name" '$1 == n {print $2}' "$results" | median)"
  cpu="$(awk -v n="$name" '$1 == n {print $3}' "$results" | median)"
  printf 'search %-3s  median wall %6.2f s  median cpu %6.2f s\n' "$name" "$wall" "$cpu"
  eval "wall_$name=$wall cpu_$name=$cpu"
done
awk -v a="$wall_on" -v b="$wall_off" -v c="$cpu_on" -v d="$cpu_off" \
  'BEGIN {printf "search adds  wall %+.1f%%  cpu %+.1f%%\n", (a/b-1)*100, (c/d-1)*100}'
printf 'index        %s bytes, %s bytes gzip -9\n' "$(cat "$OUT_BASE/index-bytes")" "$(cat "$OUT_BASE/index-gzip")"
echo "raw measurements: $results"
