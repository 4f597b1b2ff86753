#!/usr/bin/env python3
"""MRR@10 and recall@10 of the known-item set (build_corpus.py) through gateways' /v1/query, and of BM25 (rank-bm25)
over the same indexed texts, in one run. Prints a markdown table. The gateway ranks passages (chunks): each query
asks for 30 and a page's rank is that of its first passage among the distinct pages; BM25 ranks whole pages.

    python3 Benchmarks/retrieval/evaluate.py CORPUS NAME=URL,API_KEY [NAME=URL,API_KEY ...]
"""
import json
import os
import re
import sys
import time
import urllib.request

from rank_bm25 import BM25Okapi

K = 10


def tokens(text):
    return re.findall(r"[a-z0-9]+", text.lower())


def scores(ranks):
    mrr = sum(1.0 / r for r in ranks if r) / len(ranks)
    recall = sum(1 for r in ranks if r) / len(ranks)
    return mrr, recall


def gateway_ranks(url, key, queries, collection):
    ranks = []
    start = time.perf_counter()
    for q in queries:
        body = json.dumps({"question": q["query"], "data_class": "internal", "top_k": 3 * K, "scope": {"collections": [collection]}}).encode()
        req = urllib.request.Request(url + "/v1/query", data=body, headers={"Authorization": "Bearer " + key, "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=120) as resp:
            answer = json.load(resp)
        seen = []
        for c in answer.get("citations", []):
            if c["document_id"] not in seen:
                seen.append(c["document_id"])
        ranks.append(seen.index(q["id"]) + 1 if q["id"] in seen[:K] else 0)
    return ranks, time.perf_counter() - start


def main():
    corpus = sys.argv[1]
    queries = [json.loads(line) for line in open(os.path.join(corpus, "queries.jsonl"))]
    ids = [q["id"] for q in queries]
    texts = [open(os.path.join(corpus, "docs", i), encoding="utf-8").read() for i in ids]
    bm25 = BM25Okapi([tokens(t) for t in texts])
    bm25_ranks = []
    for q in queries:
        s = bm25.get_scores(tokens(q["query"]))
        top = sorted(range(len(ids)), key=lambda i: -s[i])[:K]
        bm25_ranks.append(next((n + 1 for n, i in enumerate(top) if ids[i] == q["id"]), 0))
    rows = [("BM25 (rank-bm25 BM25Okapi, same texts)", *scores(bm25_ranks), None)]
    for spec in sys.argv[2:]:
        name, rest = spec.split("=", 1)
        url, key = rest.split(",", 1)
        ranks, seconds = gateway_ranks(url, key, queries, "man")
        rows.append((f"{name} (sealgate /v1/query)", *scores(ranks), seconds))
    print(f"Known-item retrieval over {len(queries)} Debian manual pages (query = NAME summary, removed from the text); k = {K}")
    print("| retriever | MRR@10 | recall@10 | query time (all queries) |")
    print("|---|---|---|---|")
    for name, mrr, recall, seconds in rows:
        print(f"| {name} | {mrr:.3f} | {recall:.3f} | {'-' if seconds is None else f'{seconds:.1f} s'} |")


if __name__ == "__main__":
    main()
