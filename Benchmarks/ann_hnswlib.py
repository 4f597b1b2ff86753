#!/usr/bin/env python3
"""hnswlib on the same vectors as ANNBench: recall@10 against exact cosine, QPS and p50/p99 on one thread,
memory per element. Usage: ann_hnswlib.py vectors.f32 queries.f32 dims [ef,...] (M=16, ef_construction=100)."""
import sys, time, resource
import numpy as np
import hnswlib

def rss_kb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0

vectors = np.fromfile(sys.argv[1], dtype="<f4").reshape(-1, int(sys.argv[3]))
queries = np.fromfile(sys.argv[2], dtype="<f4").reshape(-1, int(sys.argv[3]))
efs = [int(x) for x in (sys.argv[4] if len(sys.argv) > 4 else "16,32,64,128").split(",")]
n, dims = vectors.shape
unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
uq = queries / np.linalg.norm(queries, axis=1, keepdims=True)
truth = np.argsort(-(uq @ unit.T), axis=1)[:, :10]
before = rss_kb()
index = hnswlib.Index(space="cosine", dim=dims)
index.set_num_threads(1)
t0 = time.perf_counter()
index.init_index(max_elements=n, M=16, ef_construction=100, random_seed=100)
index.add_items(vectors, np.arange(n))
print(f"hnswlib vectors={n} dims={dims} build_seconds={time.perf_counter() - t0:.2f}")
print(f"hnswlib_rss_delta_per_chunk_bytes={(rss_kb() - before) * 1024 // n}")
print("efSearch,recall@10,qps,p50_us,p99_us")
for ef in efs:
    index.set_ef(max(ef, 10))
    found, lat = 0, []
    start = time.perf_counter()
    for i, q in enumerate(queries):
        t = time.perf_counter()
        labels, _ = index.knn_query(q, k=10)
        lat.append(time.perf_counter() - t)
        found += len(set(labels[0].tolist()) & set(truth[i].tolist()))
    total = time.perf_counter() - start
    lat.sort()
    print(f"{ef},{found / (len(queries) * 10):.4f},{len(queries) / total:.0f},{lat[len(lat) // 2] * 1e6:.0f},{lat[min(len(lat) - 1, len(lat) * 99 // 100)] * 1e6:.0f}")
