#!/usr/bin/env bash
# Runs each fuzz target in turn for SECONDS (default 900) with one job, so
# it leaves the other cores free. Seeds the corpora first. Each run's
# libFuzzer output goes to fuzz/logs/TARGET.log, whose last lines give the
# executions and the peak memory.
#
# Usage: fuzz/run.sh [SECONDS] [TARGET...]
set -euo pipefail

fuzz_dir="$(cd "$(dirname "$0")" && pwd)"
seconds="${1:-900}"
shift || true
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
    targets=(read_envelope read_multipart)
fi

# cargo fuzz needs nightly-only compiler flags. Use the nightly toolchain
# when rustup has one, otherwise let the stable compiler accept them.
if rustup run nightly rustc --version >/dev/null 2>&1; then
    cargo_fuzz=(cargo +nightly fuzz)
else
    export RUSTC_BOOTSTRAP=1
    cargo_fuzz=(cargo fuzz)
fi

cd "$fuzz_dir"
./seed-corpus.sh
mkdir -p logs
for target in "${targets[@]}"; do
    # -max_len covers the largest corpus document (16 KB) wrapped in a
    # multipart body, with room to grow. -timeout reports an input that
    # takes more than 10 s, far beyond the milliseconds a real document takes.
    "${cargo_fuzz[@]}" run -O "$target" "corpus/$target" -- \
        -jobs=1 -workers=1 \
        -max_len=32768 -rss_limit_mb=2048 -timeout=10 \
        -dict=cxml.dict -max_total_time="$seconds" -print_final_stats=1 \
        || status=$?
    mv fuzz-0.log "logs/$target.log"
    tail -n 8 "logs/$target.log"
    if [ "${status:-0}" -ne 0 ]; then
        echo "$target found a failure; see fuzz/logs/$target.log and fuzz/artifacts/$target/" >&2
        exit "$status"
    fi
done
