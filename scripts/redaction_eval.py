#!/usr/bin/env python3
"""Evaluate a redaction command against a gold PII corpus.

Usage:
    scripts/redaction_eval.py [--data FILE] [--check] [--errors N] [--label L] -- COMMAND [ARGS...]

COMMAND reads JSON lines {"text": ...} on stdin and writes one JSON line per input:
{"text": redacted, "spans": [{"start", "end", "label"}]}, offsets in Unicode scalars (Python str indices).
That is the interface of `sealgate redact --profile all`; run it with
profile `all` so that the leak rate is meaningful.

Metrics per label:
  precision  predicted spans that overlap a gold span of the same label / predicted spans
  recall     gold spans overlapped by a predicted span of the same label / gold spans
  F1         harmonic mean
  leak       gold sensitive characters not covered by any predicted span (any label) / gold characters
"""
import argparse
import collections
import json
import subprocess
import sys


def overlaps(a, b):
    return a[0] < b[1] and b[0] < a[1]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="../shared/data/pii-dev.jsonl", help="labelled corpus (JSON lines)")
    ap.add_argument("--errors", type=int, default=0, help="print up to N false positives/negatives per label")
    ap.add_argument("--label", default=None, help="only print errors for this label")
    ap.add_argument("--check", action="store_true",
                    help="exit 1 unless the issue's targets hold: F1 >= 0.95 and leak <= 0.5%% on EMAIL, PHONE, "
                         "CREDIT_CARD, IBAN, US_SSN, IP_ADDRESS, SECRET; F1 >= 0.85 on URL and DATE")
    ap.add_argument("command", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    cmd = [c for c in args.command if c != "--"] if args.command else []
    if not cmd:
        ap.error("missing COMMAND")

    docs = [json.loads(line) for line in open(args.data, encoding="utf-8") if line.strip()]
    payload = "".join(json.dumps({"text": d["text"]}, ensure_ascii=False) + "\n" for d in docs)
    proc = subprocess.run(cmd, input=payload.encode("utf-8"), stdout=subprocess.PIPE, check=True)
    outputs = [json.loads(line) for line in proc.stdout.decode("utf-8").splitlines() if line.strip()]
    if len(outputs) != len(docs):
        sys.exit(f"command returned {len(outputs)} lines for {len(docs)} inputs")

    tp_pred = collections.Counter()
    n_pred = collections.Counter()
    tp_gold = collections.Counter()
    n_gold = collections.Counter()
    gold_chars = collections.Counter()
    leaked_chars = collections.Counter()
    fps = collections.defaultdict(list)
    fns = collections.defaultdict(list)

    for doc, out in zip(docs, outputs):
        text = doc["text"]
        gold = [(s["start"], s["end"], s["label"]) for s in doc["spans"]]
        pred = [(s["start"], s["end"], s["label"]) for s in out["spans"]]
        covered = bytearray(len(text) + 1)
        for s, e, _ in pred:
            for k in range(max(0, s), min(len(text), e)):
                covered[k] = 1
        for g in gold:
            n_gold[g[2]] += 1
            if any(p[2] == g[2] and overlaps(p, g) for p in pred):
                tp_gold[g[2]] += 1
            else:
                fns[g[2]].append((doc.get("id"), text[max(0, g[0] - 30):g[0]] + "⟦" + text[g[0]:g[1]] + "⟧" + text[g[1]:g[1] + 20],
                                  [(p[2], text[p[0]:p[1]]) for p in pred if overlaps(p, g)]))
            length = g[1] - g[0]
            gold_chars[g[2]] += length
            leaked_chars[g[2]] += sum(1 for k in range(g[0], g[1]) if not covered[k])
        for p in pred:
            n_pred[p[2]] += 1
            if any(g[2] == p[2] and overlaps(p, g) for g in gold):
                tp_pred[p[2]] += 1
            else:
                fps[p[2]].append((doc.get("id"), text[max(0, p[0] - 30):p[0]] + "⟦" + text[p[0]:p[1]] + "⟧" + text[p[1]:p[1] + 20],
                                  [(g[2], text[g[0]:g[1]]) for g in gold if overlaps(p, g)]))

    labels = sorted(set(n_gold) | set(n_pred))
    scores = {}
    print(f"{'label':<12} {'gold':>5} {'pred':>5} {'P':>6} {'R':>6} {'F1':>6} {'leak':>7}")
    for label in labels:
        p = tp_pred[label] / n_pred[label] if n_pred[label] else 0.0
        r = tp_gold[label] / n_gold[label] if n_gold[label] else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        leak = leaked_chars[label] / gold_chars[label] if gold_chars[label] else 0.0
        scores[label] = (f, leak)
        print(f"{label:<12} {n_gold[label]:>5} {n_pred[label]:>5} {p:>6.3f} {r:>6.3f} {f:>6.3f} {leak * 100:>6.2f}%")
    total = sum(gold_chars.values())
    print(f"{'overall':<12} {sum(n_gold.values()):>5} {sum(n_pred.values()):>5} {'':>6} {'':>6} {'':>6} "
          f"{(sum(leaked_chars.values()) / total * 100 if total else 0):>6.2f}%")

    if args.errors:
        for label in labels:
            if args.label and label != args.label:
                continue
            for kind, items in (("FP", fps[label]), ("FN", fns[label])):
                for item in items[: args.errors]:
                    print(f"{kind} {label} {item[0]}: {item[1]!r} overlaps={item[2]}")


    if args.check:
        targets = {l: (0.95, 0.005) for l in ["EMAIL", "PHONE", "CREDIT_CARD", "IBAN", "US_SSN", "IP_ADDRESS", "SECRET"]}
        targets.update({"URL": (0.85, 1.0), "DATE": (0.85, 1.0)})
        # A label the corpus has no gold span of cannot be scored (a held-out corpus may leave some out); its false
        # positives still show in its row.
        absent = [l for l in targets if not n_gold[l]]
        for l in absent:
            print(f"target not scored: no gold {l} span in the corpus")
        missed = [f"{l}: F1 {scores.get(l, (0, 1))[0]:.3f} (>= {f1}), leak {scores.get(l, (0, 1))[1] * 100:.2f}% (<= {leak * 100:.1f}%)"
                  for l, (f1, leak) in targets.items()
                  if l not in absent and (scores.get(l, (0.0, 1.0))[0] < f1 or scores.get(l, (0.0, 1.0))[1] > leak)]
        for line in missed:
            print("TARGET MISSED " + line)
        print("redaction targets: " + ("met" if not missed else f"{len(missed)} missed"))
        sys.exit(1 if missed else 0)


if __name__ == "__main__":
    main()
