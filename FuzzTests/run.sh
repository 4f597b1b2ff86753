#!/usr/bin/env bash
# Builds the libFuzzer harnesses of FuzzTests/ and runs each for SECONDS_PER_TARGET (default 60).
#
#   FuzzTests/run.sh [SECONDS_PER_TARGET] [TARGET...]   fuzz (all targets, or the ones named)
#   FuzzTests/run.sh --replay [TARGET...]               replay FuzzTests/Reproducers/<target>/* once (regressions)
#   FuzzTests/run.sh --list                             print the targets
#
# Targets: snp tdx tdx-collateral nitro azure nvidia mock jose policy sigstore. Seeds: the shared vectors (../shared/vectors, or
# SEALGATE_VECTORS), read in place; the repository's own JOSE vectors and example policies; FuzzTests/Seeds/<target>;
# and seeds each harness generates at start (evidence bundles, signed mock evidence, JWEs to its fixed keys).
# Everything the run writes (corpus, generated seeds, crashes, logs) goes to FuzzTests/.work/, which git ignores;
# the build goes to FuzzTests/.build/. Exits non-zero when any target crashed, hung (-timeout), ran out of memory
# (-rss_limit_mb) or failed to start.
#
# Environment: SEALGATE_FUZZ_CONFIG=release|debug (default release), SEALGATE_FUZZ_SANITIZERS (default
# fuzzer,address), SEALGATE_FUZZ_TIMEOUT (seconds per input, default 2), SEALGATE_FUZZ_RSS_MB (default 2048),
# SEALGATE_FUZZ_UNTYPED=abort|log (default abort: an untyped rejection counts as a crash), SEALGATE_FUZZ_ARGS
# (extra libFuzzer flags), SEALGATE_FUZZ_KEEP_GOING=1 (libFuzzer's fork mode with -ignore_crashes, -ignore_timeouts
# and -ignore_ooms: a target keeps fuzzing after a finding and records every one; the exit status is still 1).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
vectors=${SEALGATE_VECTORS:-$repo/../shared/vectors}
config=${SEALGATE_FUZZ_CONFIG:-release}
sanitizers=${SEALGATE_FUZZ_SANITIZERS:-fuzzer,address}
timeout=${SEALGATE_FUZZ_TIMEOUT:-2}
rss=${SEALGATE_FUZZ_RSS_MB:-2048}
work=$here/.work

# target | executable | -max_len | seed directories besides Seeds/<target> and the generated ones
targets=(
    "snp|FuzzSNP|16384|$vectors/sev-snp"
    "tdx|FuzzTDX|16384|$vectors/tdx $vectors/azure/tdx-vtpm-trustee"
    "tdx-collateral|FuzzTDXCollateral|16384|$vectors/tdx"
    "nitro|FuzzNitro|16384|$vectors/nitro"
    "azure|FuzzAzure|16384|$vectors/azure"
    "nvidia|FuzzNVIDIA|16384|$vectors/nvidia"
    "mock|FuzzMockEvidence|8192|"
    "jose|FuzzJOSE|16384|$repo/Tests/JOSETests/Vectors"
    "policy|FuzzReleasePolicy|16384|$repo/examples/policies"
    "sigstore|FuzzSigstore|65536|$vectors/sigstore/blob $vectors/sigstore/dsse $vectors/sigstore/oms $vectors/sigstore/roots"
)

mode=fuzz
seconds=60
if [ "${1:-}" = "--list" ]; then
    for t in "${targets[@]}"; do echo "${t%%|*}"; done
    exit 0
elif [ "${1:-}" = "--replay" ]; then
    mode=replay
    shift
elif [[ "${1:-}" =~ ^[0-9]+$ ]]; then
    seconds=$1
    shift
fi
selected=("$@")

wanted() {
    [ ${#selected[@]} -eq 0 ] && return 0
    local s
    for s in "${selected[@]}"; do [ "$s" = "$1" ] && return 0; done
    return 1
}

[ -d "$vectors" ] || echo "warning: shared vectors not found at $vectors (set SEALGATE_VECTORS); harnesses run on their own seeds only" >&2

# lld: GNU gold (the default linker here) stops with "internal error in format_file_lineno" on these binaries.
flags=(-c "$config" --package-path "$here" --scratch-path "$here/.build" -Xswiftc "-sanitize=$sanitizers" -Xswiftc -use-ld=lld)
echo "== building the harnesses ($config, -sanitize=$sanitizers)"
if ! swift build "${flags[@]}" 2>&1 | grep -v "Cannot export local symbol" | tail -n 20; then
    echo "build failed" >&2
    exit 2
fi
bin=$(swift build "${flags[@]}" --show-bin-path)

# Swift's own crash reporter would hold the crashing process for up to 30 s and interleave its report; libFuzzer
# prints the stack and writes the input itself.
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:handle_abort=1:symbolize=1}
export SEALGATE_VECTORS=$vectors SEALGATE_REPO=$repo

mkdir -p "$work/logs"
status=0
summary=()
stamp=$(mktemp)
for entry in "${targets[@]}"; do
    IFS='|' read -r name exe maxlen extra <<<"$entry"
    wanted "$name" || continue
    if [ ! -x "$bin/$exe" ]; then
        echo "missing $bin/$exe" >&2
        status=1
        continue
    fi
    log=$work/logs/$name.log
    if [ "$mode" = replay ]; then
        log=$work/logs/$name.replay.log
        inputs=()
        [ -d "$here/Reproducers/$name" ] && while IFS= read -r f; do inputs+=("$f"); done < <(find "$here/Reproducers/$name" -type f ! -name '*.md' | sort)
        [ ${#inputs[@]} -eq 0 ] && continue
        echo "== replaying ${#inputs[@]} reproducer(s) of $name"
        "$bin/$exe" -timeout="$timeout" -rss_limit_mb="$rss" "${inputs[@]}" >"$log" 2>&1
        rc=$?
        [ $rc -eq 0 ] && summary+=("$name: ${#inputs[@]} reproducer(s) pass") || { summary+=("$name: FAILS (rc $rc), see $log"); status=1; }
        continue
    fi
    corpus=$work/corpus/$name
    generated=$work/generated/$name
    crashes=$work/crashes/$name
    mkdir -p "$corpus" "$crashes"
    rm -rf "$generated"
    SEALGATE_FUZZ_WRITE_SEEDS=$generated "$bin/$exe" >/dev/null 2>"$work/logs/$name.seeds.log" || {
        echo "$name: seed generation failed, see $work/logs/$name.seeds.log" >&2
        status=1
    }
    dirs=("$corpus")
    for d in "$here/Seeds/$name" "$generated" $extra; do [ -d "$d" ] && dirs+=("$d"); done
    keep=()
    [ "${SEALGATE_FUZZ_KEEP_GOING:-0}" = 1 ] && keep=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
    dict=()
    [ -f "$here/Dictionaries/$name.dict" ] && dict=(-dict="$here/Dictionaries/$name.dict")
    echo "== fuzzing $name for ${seconds}s (max_len $maxlen; seeds: ${dirs[*]:1})"
    # shellcheck disable=SC2086
    "$bin/$exe" -max_total_time="$seconds" -max_len="$maxlen" -timeout="$timeout" -rss_limit_mb="$rss" "${dict[@]}" "${keep[@]}" \
        -detect_leaks=0 -print_final_stats=1 -artifact_prefix="$crashes/" ${SEALGATE_FUZZ_ARGS:-} "${dirs[@]}" >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    if [ -z "$execs" ]; then  # fork mode prints "#N: cov: … exec/s: …" lines and no final stats
        execs=$(sed -n 's/^#\([0-9]*\): cov:.*/\1/p' "$log" | tail -n 1)
        [ -n "$execs" ] && rate=$((execs / seconds))
    fi
    cov=$(grep -aEo 'cov: [0-9]+' "$log" | tail -n 1)
    found=$(find "$crashes" -type f -newer "$stamp" | sort)
    line="$name: rc $rc, ${execs:-?} execs, ${rate:-?} exec/s, ${cov:-cov: ?}"
    if [ $rc -ne 0 ] || [ -n "$found" ]; then
        status=1
        line="$line, FAILED: ${found:-no artifact, see $log}"
        grep -aE "untyped rejection|Fatal error|ERROR: libFuzzer|ERROR: AddressSanitizer|SUMMARY" "$log" | head -n 5 | sed 's/^/    /'
    fi
    summary+=("$line")
done
rm -f "$stamp"

echo "== summary (logs in $work/logs)"
printf '%s\n' "${summary[@]}"
exit $status
