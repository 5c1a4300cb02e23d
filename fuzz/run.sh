#!/usr/bin/env bash
# Runs the fuzz targets, two at a time, each for SECONDS, and prints a table.
#
#   fuzz/run.sh SECONDS [TARGET...]       (all targets when none is named)
#
# Each target runs in libFuzzer's fork mode (one worker), so a crash, timeout or out-of-memory
# input is saved and the run goes on until SECONDS are up. Inputs:
#   fuzz/corpus/<target>/     the seeds (read only, rebuilt by fuzz/seeds.py)
#   fuzz/work/<target>/       what the fuzzer adds (kept between runs, git-ignored)
# Outputs:
#   fuzz/artifacts/<target>/  crash-*, timeout-*, oom-* inputs (git-ignored)
#   fuzz/logs/<target>.log    libFuzzer's output
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`). Not part of .ci/run.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
all=(front_matter markdown artifact roster sql shell_smoke shell_step workflow)

if [[ $# -lt 1 || ! $1 =~ ^[0-9]+$ ]]; then
    echo "usage: fuzz/run.sh SECONDS [TARGET...]   (targets: ${all[*]})" >&2
    exit 2
fi
seconds=$1
shift
targets=("$@")
[[ ${#targets[@]} -eq 0 ]] && targets=("${all[@]}")
for t in "${targets[@]}"; do
    [[ -f fuzz_targets/$t.rs ]] || { echo "unknown target: $t" >&2; exit 2; }
done
parallel=${FUZZ_PARALLEL:-2}

# The seeds are made from the repository's fixtures, not kept in git.
[ -d corpus ] || python3 "$here/seeds.py"
echo "building the fuzz targets (cargo +nightly fuzz build -O)" >&2
cargo +nightly fuzz build -O 2>"$here/build.log" || { tail -n 40 "$here/build.log" >&2; exit 1; }
triple="$(rustc +nightly -vV | sed -n 's/^host: //p')"
bin="$here/target/$triple/release"
mkdir -p logs

run_one() {
    local t=$1
    mkdir -p "work/$t" "artifacts/$t"
    local start=$SECONDS
    "$bin/$t" "work/$t" "corpus/$t" \
        -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
        -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
        -artifact_prefix="artifacts/$t/" -print_final_stats=1 \
        >"logs/$t.log" 2>&1 || true
    echo "$((SECONDS - start))" >"logs/$t.seconds"
}

running=0
for t in "${targets[@]}"; do
    echo "fuzzing $t for ${seconds}s" >&2
    run_one "$t" &
    running=$((running + 1))
    if [[ $running -ge $parallel ]]; then
        wait -n || true
        running=$((running - 1))
    fi
done
wait

printf '%-14s %12s %10s %8s %8s %8s %9s %9s\n' target executions seconds cov ft crashes timeouts ooms
for t in "${targets[@]}"; do
    log="logs/$t.log"
    # fork mode: "#N: cov: C ft: F corp: ... oom/timeout/crash: O/T/C time: Ss ..."
    last="$(grep -E '^#[0-9]+: cov: ' "$log" | tail -n 1 || true)"
    execs="$(sed -E 's/^#([0-9]+):.*/\1/' <<<"$last")"
    cov="$(sed -nE 's/.* cov: ([0-9]+) .*/\1/p' <<<"$last")"
    ft="$(sed -nE 's/.* ft: ([0-9]+) .*/\1/p' <<<"$last")"
    crashes="$(find "artifacts/$t" -name 'crash-*' | wc -l)"
    timeouts="$(find "artifacts/$t" -name 'timeout-*' | wc -l)"
    ooms="$(find "artifacts/$t" -name 'oom-*' | wc -l)"
    printf '%-14s %12s %10s %8s %8s %8s %9s %9s\n' "$t" "${execs:-?}" \
        "$(cat "logs/$t.seconds" 2>/dev/null || echo ?)" "${cov:-?}" "${ft:-?}" \
        "$crashes" "$timeouts" "$ooms"
done
