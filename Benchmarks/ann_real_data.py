#!/usr/bin/env python3
"""Real embeddings for Benchmarks/ann_real.sh: passages of Debian's manual pages and the pages' one-line summaries
as queries (Benchmarks/retrieval/build_corpus.py), embedded by sealgate's own MiniLM (`sealgate model embed`), with
the exact top 10 of each query by cosine. Real text clusters unevenly (many near-duplicate pages, shared boilerplate),
which seeded Gaussian mixtures do not show.

    ann_real_data.py CORPUS_DIR n OUT_DIR queries SEALGATE MINILM_DIR
→ OUT_DIR/vectors.f32, queries.f32 (little-endian float32 rows of 384), truth.i32 (int32 rows of 10 ids).
Passages: each page cut into 800-character chunks with 160 characters of overlap (the gateway's defaults), at
white space; n of them evenly spaced over all pages' chunks."""
import glob
import json
import os
import subprocess
import sys

import numpy as np

corpus, n, out, count, sealgate, artifact = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5], sys.argv[6]


def chunks(text, size=800, overlap=160):
    text = " ".join(text.split())
    start = 0
    while start < len(text):
        end = min(len(text), start + size)
        if end < len(text):
            cut = text.rfind(" ", start + size // 2, end)
            end = cut if cut > 0 else end
        yield text[start:end]
        if end >= len(text):
            break
        start = max(end - overlap, start + 1)


passages = [c for path in sorted(glob.glob(os.path.join(corpus, "docs", "*.txt"))) for c in chunks(open(path).read()) if c.strip()]
if len(passages) < n:
    sys.exit(f"only {len(passages)} passages in {corpus}; ask for fewer")
passages = [passages[i * len(passages) // n] for i in range(n)]
queries = [json.loads(line)["query"] for line in open(os.path.join(corpus, "queries.jsonl"))]
queries = [queries[i * len(queries) // count] for i in range(min(count, len(queries)))]


def embed(texts):
    run = subprocess.run([sealgate, "model", "embed", "--artifact", artifact], input="".join(json.dumps(t) + "\n" for t in texts),
                         capture_output=True, text=True, check=True)
    rows = [json.loads(line) for line in run.stdout.splitlines()]
    assert len(rows) == len(texts), (len(rows), len(texts))
    return np.asarray(rows, dtype="<f4")


vectors = embed(passages)
query_vectors = embed(queries)
vectors.tofile(f"{out}/vectors.f32")
query_vectors.tofile(f"{out}/queries.f32")
unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
uq = query_vectors / np.maximum(np.linalg.norm(query_vectors, axis=1, keepdims=True), 1e-12)
truth = np.argsort(-(uq @ unit.T), axis=1, kind="stable")[:, :10].astype("<i4")
truth.tofile(f"{out}/truth.i32")
print(f"passages={n} (of {len(passages)} sampled) queries={len(queries)} dims={vectors.shape[1]}")
