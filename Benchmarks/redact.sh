#!/usr/bin/env bash
# Redaction as users run it (issue #17 item 5): `sealgate redact` (JSON lines in and out) against the engine on the
# same texts, for profiles `all` and `basic`, in one run, one core, in megabytes of text (UTF-8, 10^6 bytes) per
# CPU second — the figure that moves least on a shared machine.
#
#   Benchmarks/redact.sh SEALGATE [COPIES] [ROUNDS] [CORPUS]
#
# SEALGATE: a release build of `sealgate`. The corpus (default ../shared/data/pii-dev.jsonl) is repeated COPIES times
# (default 20, ~9.5 MB of text) as the command's input; RedactBench (release, built here) measures the engine on the
# same texts: joined into one text (`whole`), one call per text (`per-text`, what the gateway's answers do), one call
# per text on its scalars with UTF-8 out (`scalars`, the entry point the command calls per line), and streamed in
# 16-scalar deltas (`stream`, the gateway's streamed answers). Each of ROUNDS
# (default 3) rounds runs the engine and the command alternately; the command runs with `--threads 1` pinned to one
# core (the per-CPU-second figure compared with the engine) and then with its default threads (wall-clock, every
# core; its output must equal the one-thread output). The summary gives medians and the ratios command / engine and
# basic / all.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
copies=${2:-20}
rounds=${3:-3}
corpus=${4:-$here/../../shared/data/pii-dev.jsonl}
[ -f "$corpus" ] || { echo "no corpus at $corpus (the shared data folder must sit beside the checkout)" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$here" && swift build -c release --product RedactBench >"$work/build.log" 2>&1) || { cat "$work/build.log" >&2; exit 1; }
bench=$here/.build/release/RedactBench
for _ in $(seq "$copies"); do cat "$corpus"; done >"$work/input.jsonl"
text_bytes=$(python3 -c 'import json,sys; print(sum(len(json.loads(l)["text"].encode()) for l in open(sys.argv[1]) if l.strip()))' "$work/input.jsonl")
echo "input: $(wc -l <"$work/input.jsonl") lines, $text_bytes bytes of text; $(uptime)"

for round in $(seq "$rounds"); do
  for profile in all basic; do
    taskset -c 0 "$bench" "$corpus" 3 "$profile" >"$work/engine-$profile-$round.txt"
    /usr/bin/time -f "%U %S" -o "$work/time" taskset -c 0 "$bin" redact --threads 1 --profile "$profile" <"$work/input.jsonl" >"$work/out.jsonl"
    cli=$(python3 -c 'import sys; u,s=map(float,open(sys.argv[1]).read().split()[-2:]); print(f"{int(sys.argv[2])/(u+s)/1e6:.1f}")' "$work/time" "$text_bytes")
    echo "cli $cli MB/s" >>"$work/engine-$profile-$round.txt"
    # Both cores: wall-clock throughput, what a user waiting for the command sees.
    start=$(date +%s.%N)
    "$bin" redact --profile "$profile" <"$work/input.jsonl" >"$work/out2.jsonl"
    wall=$(python3 -c 'import sys,time; print(f"{int(sys.argv[2])/(time.time()-float(sys.argv[1]))/1e6:.1f}")' "$start" "$text_bytes")
    cmp -s "$work/out.jsonl" "$work/out2.jsonl" || { echo "--threads 1 and the default gave different output" >&2; exit 1; }
    echo "wall2 $wall MB/s" >>"$work/engine-$profile-$round.txt"
    echo "round $round $profile: $(grep -E '^(whole|per-text|scalars|stream|cli|wall2)' "$work/engine-$profile-$round.txt" | awk '{print $1, $2}' | paste -sd ' ')"
  done
done

python3 - "$work" "$rounds" <<'EOF'
import re, statistics, sys
work, rounds = sys.argv[1], int(sys.argv[2])
med = {}
for profile in ("all", "basic"):
    rows = {}
    for r in range(1, rounds + 1):
        for line in open(f"{work}/engine-{profile}-{r}.txt"):
            m = re.match(r"^(whole|per-text|scalars|stream|cli|wall2) ([0-9.]+)", line)
            if line.startswith("stream") and "equal to whole: yes" not in line: sys.exit(f"stream output differs: {line}")
            if m: rows.setdefault(m.group(1), []).append(float(m.group(2)))
    med[profile] = {k: statistics.median(v) for k, v in rows.items()}
    m = med[profile]
    print(f"{profile:5}  engine whole {m['whole']:.1f}  per-text {m['per-text']:.1f}  scalars {m['scalars']:.1f}  "
          f"stream {m['stream']:.2f}  "
          f"command {m['cli']:.1f} MB/s per CPU-s (one thread), {m['wall2']:.1f} MB/s wall on every core  "
          f"RATIO command/engine whole {m['cli']/m['whole']:.2f}  command/per-text {m['cli']/m['per-text']:.2f}  "
          f"command/scalars {m['cli']/m['scalars']:.2f}")
for k, name in (("whole", "engine whole"), ("per-text", "engine per text"), ("scalars", "engine scalars"), ("stream", "stream"),
                ("cli", "command")):
    # basic / all as a speed: above 1 means basic is cheaper.
    print(f"basic / all, {name}: {med['basic'][k]/med['all'][k]:.2f}x")
EOF
