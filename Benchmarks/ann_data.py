#!/usr/bin/env python3
"""The vectors of Benchmarks/ann.sh: seeded clustered vectors (a mixture of 1,000 Gaussians in 384 dimensions:
embeddings cluster by topic), queries drawn the same way (a different sample), and the exact top 10 of each query
by cosine, computed in blocks (a 1 M × 1,000 score matrix would not fit). Usage: ann_data.py n out_dir queries
→ out_dir/vectors.f32, queries.f32 (little-endian float32 rows), truth.i32 (int32 rows of 10 ids)."""
import sys
import numpy as np

n, out, count = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
rng = np.random.default_rng(17)
centres = rng.standard_normal((1000, 384)).astype("<f4")

def draw(k_total):
    parts = []
    for start in range(0, k_total, 100_000):
        k = min(100_000, k_total - start)
        parts.append((centres[rng.integers(0, 1000, k)] + 0.6 * rng.standard_normal((k, 384))).astype("<f4"))
    return np.concatenate(parts)

vectors = draw(n)
queries = draw(count)
vectors.tofile(f"{out}/vectors.f32")
queries.tofile(f"{out}/queries.f32")
uq = queries / np.linalg.norm(queries, axis=1, keepdims=True)
best_s = np.full((count, 10), -np.inf, dtype="<f4")
best_i = np.zeros((count, 10), dtype=np.int64)
for start in range(0, n, 50_000):
    block = vectors[start:start + 50_000]
    scores = uq @ (block / np.linalg.norm(block, axis=1, keepdims=True)).T
    top = np.argpartition(-scores, min(10, scores.shape[1] - 1), axis=1)[:, :10]
    s = np.concatenate([best_s, np.take_along_axis(scores, top, axis=1)], axis=1)
    i = np.concatenate([best_i, top + start], axis=1)
    order = np.argsort(-s, axis=1)[:, :10]
    best_s, best_i = np.take_along_axis(s, order, axis=1), np.take_along_axis(i, order, axis=1)
best_i.astype("<i4").tofile(f"{out}/truth.i32")
