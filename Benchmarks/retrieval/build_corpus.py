#!/usr/bin/env python3
"""Known-item retrieval set from Debian's manual pages (issue #16 item 5).

For each English page under /usr/share/man/man*/ (packages manpages, manpages-dev and the installed tools) whose
NAME section has a one-line summary (`name \\- summary`), writes OUT/docs/<name>.<section>.txt with the page's
text after NAME (roff requests and escapes stripped; every verbatim occurrence of the summary removed; cut at
--max-chars) and a line {"id", "query"} in OUT/queries.jsonl, where the query is the summary. Pages that are only
`.so` links, have no summary, or share a summary with another page are left out.

    python3 Benchmarks/retrieval/build_corpus.py OUT [--max-chars 3000] [--limit N: N pages evenly spaced]
"""
import argparse
import collections
import glob
import gzip
import json
import os
import re

ESCAPES = [
    (re.compile(r"\\f(\[[^\]]*\]|\(..|.)"), ""), (re.compile(r"\\s[+-]?\d"), ""), (re.compile(r"\\\*(\[[^\]]*\]|\(..|.)"), ""),
    (re.compile(r"\\\(em|\\\(en"), "-"), (re.compile(r"\\\((aq|cq|oq)"), "'"), (re.compile(r"\\\((lq|rq|dq)"), '"'),
    (re.compile(r"\\\(..|\\\[[^\]]*\]"), ""), (re.compile(r"\\[-]"), "-"), (re.compile(r"\\e"), "\\\\"),
    (re.compile(r"\\[&|^%:!]"), ""), (re.compile(r"\\[ ~0]"), " "), (re.compile(r"\\c$"), ""),
]
TEXT_MACROS = {"B", "I", "BR", "RB", "BI", "IB", "IR", "RI", "SM", "SB", "SH", "SS", "TP", "IP", "Nm", "Nd", "Sh", "Ss",
               "Fn", "Fa", "Ft", "Fl", "Ar", "Pa", "Xr", "Dv", "Er", "Ev", "Va", "Cm", "Em", "Sy", "Li", "Dl", "Op", "It"}


def unescape(text):
    for pattern, repl in ESCAPES:
        text = pattern.sub(repl, text)
    return text.replace("\\", "")


def plain(lines):
    out = []
    for line in lines:
        if line.startswith(('.\\"', "'\\\"", '.\\}', "\\\"")):
            continue
        if line.startswith((".", "'")):
            parts = line[1:].strip().split(None, 1)
            if not parts:
                continue
            macro, rest = parts[0], parts[1] if len(parts) > 1 else ""
            if macro in TEXT_MACROS and rest:
                words = re.findall(r'"[^"]*"|\S+', rest)
                out.append(" ".join(w.strip('"') for w in words))
            continue
        out.append(line)
    text = unescape("\n".join(out))
    return re.sub(r"[ \t]+", " ", re.sub(r"\n{3,}", "\n\n", text)).strip()


def parse(path):
    raw = gzip.open(path, "rb").read() if path.endswith(".gz") else open(path, "rb").read()
    try:
        src = raw.decode("utf-8")
    except UnicodeDecodeError:
        src = raw.decode("latin-1")
    lines = src.splitlines()
    if any(l.startswith(".so ") for l in lines[:5]) and len(lines) < 10:
        return None
    start = end = None
    for i, line in enumerate(lines):
        if re.match(r'^\.(SH|Sh)\s+"?NAME"?\s*$', line, re.I):
            start = i
        elif start is not None and i > start and re.match(r"^\.(SH|Sh)\b", line):
            end = i
            break
    if start is None or end is None:
        return None
    name_text = plain(lines[start + 1:end]).replace("\n", " ")
    m = re.search(r"\s(?:-|—)\s+(.+)$", name_text)
    if not m:
        return None
    summary = m.group(1).strip().rstrip(".")
    body = plain(lines[:start] + lines[end:])
    body = body.replace(summary, " ")
    if len(summary) < 8 or len(body) < 200:
        return None
    return summary, body


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--max-chars", type=int, default=3000)
    ap.add_argument("--limit", type=int, default=0)
    args = ap.parse_args()
    pages = sorted(p for p in glob.glob("/usr/share/man/man[1-8]*/*") if os.path.isfile(p))
    parsed = {}
    for path in pages:
        base = os.path.basename(path)
        base = base[:-3] if base.endswith(".gz") else base
        doc_id = re.sub(r"[^A-Za-z0-9._-]", "-", base).strip(".-") + ".txt"
        try:
            result = parse(path)
        except (OSError, EOFError):
            continue
        if result:
            parsed[doc_id] = result
    counts = collections.Counter(s.lower() for s, _ in parsed.values())
    kept = {k: v for k, v in parsed.items() if counts[v[0].lower()] == 1}
    if args.limit and args.limit < len(kept):  # evenly spaced over the sorted ids: every section and package
        items = sorted(kept.items())
        kept = dict(items[i * len(items) // args.limit] for i in range(args.limit))
    os.makedirs(os.path.join(args.out, "docs"), exist_ok=True)
    with open(os.path.join(args.out, "queries.jsonl"), "w") as q:
        for doc_id, (summary, body) in sorted(kept.items()):
            with open(os.path.join(args.out, "docs", doc_id), "w", encoding="utf-8") as f:
                f.write(body[: args.max_chars])
            q.write(json.dumps({"id": doc_id, "query": summary}) + "\n")
    print(f"{len(pages)} page files, {len(parsed)} with a summary, {len(kept)} kept (unique summary) -> {args.out}")


if __name__ == "__main__":
    main()
