#!/usr/bin/env python3
"""Ingests a synthetic corpus of N chunks into a running Sealgate (collection `bench`, class `internal`).

Usage: ingest_corpus.py BASE_URL API_KEY [--chunks 10000]
       ingest_corpus.py --out DOCS.jsonl [--queries QUERIES.jsonl] [--chunks 10000]   (write instead of ingesting)
Documents are ~6,400 characters of generated prose, which the default chunker (800, overlap 160) cuts into
about 10 chunks each. Prints the number of chunks stored. With --out the documents are written as JSON lines, and
--queries writes 1,000 questions drawn from the same vocabulary ({"query": ...}), for HashRecallBench.
"""
import argparse
import concurrent.futures
import json
import random
import urllib.request

parser = argparse.ArgumentParser()
parser.add_argument("base", nargs="?")
parser.add_argument("key", nargs="?")
parser.add_argument("--chunks", type=int, default=10000)
parser.add_argument("--out")
parser.add_argument("--queries")
args = parser.parse_args()

rng = random.Random(7)
topics = ["invoice", "warehouse", "shipment", "audit", "payroll", "contract", "vendor", "laptop", "badge", "parking",
          "cafeteria", "travel", "expense", "security", "backup", "network", "printer", "vacation", "training", "budget"]
verbs = ["requires", "approves", "reviews", "schedules", "blocks", "records", "escalates", "archives", "updates", "checks"]
nouns = ["the team lead", "finance", "the help desk", "each employee", "the facilities team", "the auditor",
         "the on-call engineer", "procurement", "legal", "the regional office"]


def document(n):
    sentences = []
    while sum(len(s) for s in sentences) < 6400:
        t1, t2 = rng.choice(topics), rng.choice(topics)
        sentences.append(f"For {t1} case {rng.randint(1, 9999)}, {rng.choice(nouns)} {rng.choice(verbs)} the {t2} request within {rng.randint(1, 30)} days.")
    return {"id": f"bench-{n:05d}", "title": f"Bench {n}", "text": " ".join(sentences), "data_class": "internal"}


def post(doc):
    req = urllib.request.Request(args.base + "/v1/collections/bench/documents", data=json.dumps(doc).encode(), method="POST")
    req.add_header("Authorization", "Bearer " + args.key)
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req) as resp:
        return json.load(resp)["chunks"]


docs = []
total = 0
n = 0
while total < args.chunks:
    d = document(n)
    docs.append(d)
    total += 10
    n += 1
if args.out:
    with open(args.out, "w") as out:
        for d in docs:
            out.write(json.dumps(d) + "\n")
    if args.queries:
        asker = random.Random(11)
        with open(args.queries, "w") as out:
            for _ in range(1000):
                t1, t2 = asker.choice(topics), asker.choice(topics)
                out.write(json.dumps({"query": f"when does {asker.choice(nouns)} {asker.choice(verbs).rstrip('s')} {t1} case {asker.randint(1, 9999)} {t2} requests"}) + "\n")
    print(f"documents={len(docs)} written to {args.out}")
    raise SystemExit(0)
if not (args.base and args.key):
    parser.error("BASE_URL and API_KEY are needed unless --out is given")
stored = 0
with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
    for chunks in pool.map(post, docs):
        stored += chunks
print(f"documents={len(docs)} chunks={stored}")
