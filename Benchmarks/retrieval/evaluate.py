#!/usr/bin/env python3
"""MRR@10 and recall@10 of the known-item set (build_corpus.py) through gateways' /v1/query, and of BM25 (rank-bm25)
over the same indexed texts, in one run. Prints a markdown table. The gateway ranks passages (chunks): each query
asks for TOP_K passages (default 50, the gateway's maximum) and a page's rank is that of its first passage among the
distinct pages of the answer's `retrieved` list; BM25 ranks whole pages. Since several passages of one page can fill
that list, the table also gives how many distinct pages it held (recall@10 is only comparable to BM25's when that
is >= 10). The gateway also holds each document's title (the one `sealgate ingest` sends: the file's first `# `
heading, else its file name) and may use it, so BM25 is also given title + text (a second row), for a like-for-like
comparison. Before `retrieved` existed this script read `citations` — the passages the built-in extractive model
quoted, about two pages per answer — which understated the gateway's recall@10.

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
TOP_KS = [int(v) for v in os.environ.get("TOP_K", "50").split(",")]  # e.g. TOP_K=30,50 compares both


def tokens(text):
    return re.findall(r"[a-z0-9]+", text.lower())


def title(doc_id, text):
    """The title `sealgate ingest` sends (Sources/sealgate/Ingest.swift): the first `# ` heading, else the file name."""
    return next((line[2:] for line in text.split("\n") if line.startswith("# ")), doc_id)


def bm25_ranks(ids, texts, queries):
    bm25 = BM25Okapi([tokens(t) for t in texts])
    ranks = []
    for q in queries:
        s = bm25.get_scores(tokens(q["query"]))
        top = sorted(range(len(ids)), key=lambda i: -s[i])[:K]
        ranks.append(next((n + 1 for n, i in enumerate(top) if ids[i] == q["id"]), 0))
    return ranks


def scores(ranks):
    mrr = sum(1.0 / r for r in ranks if r) / len(ranks)
    recall = sum(1 for r in ranks if r) / len(ranks)
    return mrr, recall


def gateway_ranks(url, key, queries, collection, top_k):
    ranks, distinct = [], []
    start = time.perf_counter()
    for q in queries:
        body = json.dumps({"question": q["query"], "data_class": "internal", "top_k": top_k, "scope": {"collections": [collection]}}).encode()
        req = urllib.request.Request(url + "/v1/query", data=body, headers={"Authorization": "Bearer " + key, "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=120) as resp:
            answer = json.load(resp)
        seen = []
        for c in answer["retrieved"]:  # every retrieved passage, best first (not only those the model cited)
            if c["document_id"] not in seen:
                seen.append(c["document_id"])
        ranks.append(seen.index(q["id"]) + 1 if q["id"] in seen[:K] else 0)
        distinct.append(len(seen))
    return ranks, distinct, time.perf_counter() - start


def main():
    corpus = sys.argv[1]
    queries = [json.loads(line) for line in open(os.path.join(corpus, "queries.jsonl"))]
    ids = [q["id"] for q in queries]
    texts = [open(os.path.join(corpus, "docs", i), encoding="utf-8").read() for i in ids]
    rows = [("BM25 (rank-bm25 BM25Okapi, same texts)", *scores(bm25_ranks(ids, texts, queries)), None, None),
            ("BM25 (same, title + text)", *scores(bm25_ranks(ids, [title(i, t) + "\n" + t for i, t in zip(ids, texts)], queries)), None, None)]
    for spec in sys.argv[2:]:
        name, rest = spec.split("=", 1)
        url, key = rest.split(",", 1)
        for top_k in TOP_KS:
            ranks, distinct, seconds = gateway_ranks(url, key, queries, "man", top_k)
            short = sum(1 for d in distinct if d < K) / len(distinct)
            rows.append((f"{name} (sealgate /v1/query, top_k {top_k})", *scores(ranks), seconds,
                         f"{sum(distinct) / len(distinct):.1f} (< {K} in {short:.1%})"))
    print(f"Known-item retrieval over {len(queries)} Debian manual pages (query = NAME summary, removed from the text); "
          f"k = {K}")
    print("| retriever | MRR@10 | recall@10 | query time (all queries) | distinct pages per answer |")
    print("|---|---|---|---|---|")
    for name, mrr, recall, seconds, pages in rows:
        print(f"| {name} | {mrr:.3f} | {recall:.3f} | {'-' if seconds is None else f'{seconds:.1f} s'} | {pages or '-'} |")


if __name__ == "__main__":
    main()
