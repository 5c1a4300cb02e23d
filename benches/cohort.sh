#!/usr/bin/env bash
# Cohort benchmark: N demo student repositories (default 100, written with
# `clinic demo --no-build`), one roster, and `clinic cohort` timed with /usr/bin/time.
# Reports the wall time and the peak resident memory of the cohort build, cold (first build, no
# output yet) and warm (rebuilding over the previous output), and the output's size per student.
# Targets: 1,000 students under 20 s on 2 cores, at most 150 KB of output per student.
#
# Usage: benches/cohort.sh [N] [JOBS]
#   N     students (default 100)
#   JOBS  --jobs for clinic cohort (default: the number of cores)
# Environment: CLINIC=path/to/clinic to use an existing binary (default: cargo build --release);
#   KEEP=1 keeps the work folder and prints where it is.
set -euo pipefail

n="${1:-100}"
jobs="${2:-}"
here="$(cd "$(dirname "$0")/.." && pwd)"
if [[ -z "${CLINIC:-}" ]]; then
  cargo build --release --quiet --manifest-path "$here/Cargo.toml"
  CLINIC="$here/target/release/clinic"
fi
if [[ ! -x /usr/bin/time ]]; then
  echo "benches/cohort.sh needs /usr/bin/time (apt-get install time)" >&2
  exit 2
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/clinic-cohort-bench.XXXXXX")"
if [[ "${KEEP:-0}" != 1 ]]; then
  trap 'rm -rf "$work"' EXIT
fi

mkdir -p "$work/students"
start=$(date +%s%N)
roster="$work/roster.yaml"
printf 'title: Benchmark cohort (%s students)\nstudents:\n' "$n" > "$roster"
for i in $(seq -w 1 "$n"); do
  "$CLINIC" --quiet demo --no-build "$work/students/s$i"
  printf '  - name: Student %s\n    repo: students/s%s\n' "$i" "$i" >> "$roster"
done
end=$(date +%s%N)
echo "wrote $n demo repositories in $(((end - start) / 1000000)) ms"

args=(--quiet cohort "$roster" --out "$work/out")
if [[ -n "$jobs" ]]; then
  args+=(--jobs "$jobs")
fi
for run in cold warm; do
  /usr/bin/time -f '%e %M' -o "$work/time.$run" "$CLINIC" "${args[@]}"
  read -r seconds kib < "$work/time.$run"
  printf '%s: %s students in %s s wall, peak RSS %s MiB (%s KiB)\n' \
    "$run" "$n" "$seconds" "$((kib / 1024))" "$kib"
done
files=$(find "$work/out" -type f | wc -l)
size=$(du -sh "$work/out" | cut -f1)
# What GitHub Pages stores: the bytes of the files (folders not counted).
bytes=$(find "$work/out" -type f -printf '%s\n' | awk '{s += $1} END {print s}')
student_bytes=$(find "$work/out/students" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')
echo "output: $files files, $size on disk, $((bytes / 1024)) KiB of files"
echo "per student: $((student_bytes / n / 1024)) KiB in students/<slug>/, $((bytes / n / 1024)) KiB of the whole output / $n"
echo "targets (issue 15): 1,000 students < 20 s on 2 cores; <= 150 KB per student"
if [[ "${KEEP:-0}" == 1 ]]; then
  echo "kept: $work"
fi
