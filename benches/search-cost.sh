#!/usr/bin/env bash
# benches/search-cost.sh: what the search index adds to a build, on the benchmark corpus.
#
#   benches/search-cost.sh                  # 10,000 pages, 5 interleaved runs of each build
#   N=1000 RUNS=3 benches/search-cost.sh
#
# Builds $CORPUS_DIR/plain (made by ../shared/bench/make-corpus.sh N, as benches/site-build.sh
# does) twice per run, interleaved: as it is (search on, the default) and from a copy whose
# clinic.yaml says `search: false`. Each build goes into a fresh directory under $OUT_BASE (a
# tmpfs when there is one) under /usr/bin/time. Prints the median wall time, CPU (user+sys) time
# and peak RSS of each, the difference, and the index's size (raw and gzip -9, as Pages would
# serve it).
#
#   BASELINE_BIN=/path/to/older/clinic benches/search-cost.sh
#
# also builds with another clinic binary in each run (rows `before-on`, `before-off`), so that a
# change is compared with what it replaces in the same run, and checks that both wrote the same
# index, byte for byte.
#
# Environment: N (10000), RUNS (5), CORPUS_DIR (/tmp/clinic-bench-corpus), OUT_BASE,
# CLINIC_BIN (default: cargo build --release), BASELINE_BIN (none), SOURCE_DATE_EPOCH (fixed),
# MAKE_CORPUS (../shared/bench/make-corpus.sh).
# The machine may be shared: compare the rows of one run, not seconds across runs.
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
# The portfolio's stamp shows the build time: one fixed time, so that two binaries' indexes can be
# compared byte for byte.
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-1764460800}"
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

one() { # name root binary
  local out="$OUT_BASE/out-$1"
  rm -rf "$out"
  "$TIME" -f "%e %U %S %M" -o "$OUT_BASE/time" "$3" build --quiet --root "$2" --out "$out" >/dev/null
  read -r wall user sys rss <"$OUT_BASE/time"
  printf '%s\t%s\t%s\t%s\n' "$1" "$wall" "$(echo "$user + $sys" | bc)" "$((rss / 1024))" >>"$results"
  case "$1" in
    on)
      stat -c %s "$out/search-index.json" >"$OUT_BASE/index-bytes"
      gzip -9c "$out/search-index.json" | wc -c >"$OUT_BASE/index-gzip"
      sha256sum <"$out/search-index.json" >"$OUT_BASE/index-sum-on" ;;
    before-on)
      stat -c %s "$out/search-index.json" >"$OUT_BASE/before-index-bytes"
      gzip -9c "$out/search-index.json" | wc -c >"$OUT_BASE/before-index-gzip"
      sha256sum <"$out/search-index.json" >"$OUT_BASE/index-sum-before" ;;
  esac
  rm -rf "$out"
}
names="on off"
[ -n "${BASELINE_BIN:-}" ] && names="before-on before-off on off"
for run in $(seq "$RUNS"); do
  if [ -n "${BASELINE_BIN:-}" ]; then
    one before-on "$CORPUS_DIR/plain" "$BASELINE_BIN"
    one before-off "$off" "$BASELINE_BIN"
  fi
  one on "$CORPUS_DIR/plain" "$CLINIC_BIN"
  one off "$off" "$CLINIC_BIN"
  echo "run $run of $RUNS done" >&2
done
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
for name in $names; do
  wall="$(awk -v n="$name" '$1 == n {print $2}' "$results" | median)"
  cpu="$(awk -v n="$name" '$1 == n {print $3}' "$results" | median)"
  rss="$(awk -v n="$name" '$1 == n {print $4}' "$results" | median)"
  rss_max="$(awk -v n="$name" '$1 == n {print $4}' "$results" | sort -n | tail -1)"
  printf 'search %-10s  median wall %6.2f s  median cpu %6.2f s  peak RSS median %4s MiB (max %s)\n' \
    "$name" "$wall" "$cpu" "$rss" "$rss_max"
  eval "wall_${name//-/_}=$wall cpu_${name//-/_}=$cpu rss_${name//-/_}=$rss"
done
adds() { # label on off
  awk -v l="$1" -v a="$(eval echo "\$wall_$2")" -v b="$(eval echo "\$wall_$3")" \
    -v c="$(eval echo "\$cpu_$2")" -v d="$(eval echo "\$cpu_$3")" \
    -v e="$(eval echo "\$rss_$2")" -v f="$(eval echo "\$rss_$3")" \
    'BEGIN {printf "%-18s wall %+.1f%%  cpu %+.1f%%  peak RSS %+d MiB\n", l, (a/b-1)*100, (c/d-1)*100, e-f}'
}
if [ -n "${BASELINE_BIN:-}" ]; then
  adds "search adds before" before_on before_off
  printf 'index before       %s bytes, %s bytes gzip -9\n' "$(cat "$OUT_BASE/before-index-bytes")" "$(cat "$OUT_BASE/before-index-gzip")"
  if cmp -s "$OUT_BASE/index-sum-before" "$OUT_BASE/index-sum-on"; then
    echo "index              the same bytes before and after"
  else
    echo "index              DIFFERS between the two binaries"
  fi
fi
adds "search adds" on off
printf 'index              %s bytes, %s bytes gzip -9\n' "$(cat "$OUT_BASE/index-bytes")" "$(cat "$OUT_BASE/index-gzip")"
echo "raw measurements (name, wall s, cpu s, peak RSS MiB): $results"
