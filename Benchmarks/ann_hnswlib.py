#!/usr/bin/env python3
"""hnswlib on the same vectors as ANNBench: recall@10 against exact cosine, QPS, p50/p99 and CPU per query on one
thread pinned to CPU 0, memory per element, build time on every core. Usage: ann_hnswlib.py vectors.f32 queries.f32
dims ef,... truth.i32 (M=16, ef_construction=100; truth: the exact top 10 per query as int32 rows, ann_data.py)."""
import os, sys, time
import numpy as np
import hnswlib

def rss_kb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0

dims = int(sys.argv[3])
vectors = np.fromfile(sys.argv[1], dtype="<f4").reshape(-1, dims)
queries = np.fromfile(sys.argv[2], dtype="<f4").reshape(-1, dims)
efs = [int(x) for x in sys.argv[4].split(",") if x != "auto"]  # `auto` is sealgate-only
n = vectors.shape[0]
before = rss_kb()
index = hnswlib.Index(space="cosine", dim=dims)
threads = os.cpu_count() or 1
index.set_num_threads(threads)
t0 = time.perf_counter()
c0 = time.process_time()
index.init_index(max_elements=n, M=16, ef_construction=100, random_seed=100)
index.add_items(vectors, np.arange(n))
print(f"hnswlib vectors={n} dims={dims} build_threads={threads} build_seconds={time.perf_counter() - t0:.2f} build_cpu_seconds={time.process_time() - c0:.2f}")
print(f"hnswlib_rss_delta_per_chunk_bytes={(rss_kb() - before) * 1024 // n}")
truth = np.fromfile(sys.argv[5], dtype="<i4").reshape(-1, 10)
index.set_num_threads(1)
os.sched_setaffinity(0, {0})
print("efSearch,recall@10,qps,p50_us,p99_us,cpu_us_per_query")
for ef in efs:
    index.set_ef(max(ef, 10))
    found, lat = 0, []
    start = time.perf_counter()
    cpu = time.process_time()
    for i, q in enumerate(queries):
        t = time.perf_counter()
        labels, _ = index.knn_query(q, k=10)
        lat.append(time.perf_counter() - t)
        found += len(set(labels[0].tolist()) & set(truth[i].tolist()))
    total = time.perf_counter() - start
    cpu = time.process_time() - cpu
    lat.sort()
    print(f"{ef},{found / (len(queries) * 10):.4f},{len(queries) / total:.0f},{lat[len(lat) // 2] * 1e6:.0f},"
          f"{lat[min(len(lat) - 1, len(lat) * 99 // 100)] * 1e6:.0f},{cpu / len(queries) * 1e6:.0f}")
