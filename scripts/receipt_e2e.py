#!/usr/bin/env python3
"""Receipts end to end against a live gateway with a witness (called by scripts/witness_e2e.sh).

  receipt_e2e.py BIN URL API_KEY LOG_KEY WITNESS_KEY

A query, a chat and a streamed chat; each answer's Sealgate-Receipt (for the stream: the closing chunk's) is fetched
as a tlog-proof once a witnessed checkpoint covers it, and checked twice: by scripts/receipt_check.py (independent)
and by `sealgate receipt verify` with the witness policy and the tenant's question key.
"""
import json, os, subprocess, sys, tempfile, time, urllib.error, urllib.request

BIN, URL, KEY, LOG_KEY, WITNESS_KEY = sys.argv[1:6]
HERE = os.path.dirname(os.path.abspath(__file__))
QUESTION = "Where do visitors park?"


def call(path, body=None, headers=None):
    request = urllib.request.Request(URL + path, data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json", **(headers or {})})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.headers, response.read().decode()


def proof(index):
    for _ in range(120):
        try:
            return call(f"/v1/receipts/{index}")[1]
        except urllib.error.HTTPError as error:
            if error.code != 503:
                raise
            assert error.headers.get("Retry-After") == "1", "receipt_pending without Retry-After"
            time.sleep(0.25)
    raise SystemExit(f"no witnessed checkpoint covered record {index}")


def main():
    question_key = json.loads(call("/v1/receipts/key")[1])["key"]
    receipts = []
    headers, _ = call("/v1/query", {"question": QUESTION, "data_class": "internal", "scope": {"collections": ["handbook"]}})
    receipts.append(("query", headers["Sealgate-Receipt"]))
    chat = {"model": "extractive", "messages": [{"role": "user", "content": QUESTION}]}
    context = {"Sealgate-Data-Class": "internal", "Sealgate-Scope": "handbook"}
    headers, _ = call("/v1/chat/completions", chat, context)
    receipts.append(("chat", headers["Sealgate-Receipt"]))
    headers, stream = call("/v1/chat/completions", {**chat, "stream": True}, context)
    chunks = [json.loads(e[6:]) for e in stream.split("\n\n") if e.startswith("data: {")]
    closing = chunks[-1]
    assert closing["choices"][0]["finish_reason"] == "stop"
    receipts.append(("streamed chat (closing record)", closing["sealgate"]["audit"]["receipt"]))
    work = tempfile.mkdtemp()
    question_file = os.path.join(work, "question.txt")
    open(question_file, "w").write(QUESTION)
    for label, receipt in receipts:
        index = int(receipt.split("index=")[1].split(",")[0])
        path = os.path.join(work, f"{index}.tlog-proof")
        open(path, "w").write(proof(index))
        subprocess.run([sys.executable, os.path.join(HERE, "receipt_check.py"), path, "--receipt", receipt, "--log-key", LOG_KEY,
                        "--witness-key", WITNESS_KEY], check=True)
        out = subprocess.run([BIN, "receipt", "verify", path, "--key", LOG_KEY, "--receipt", receipt, "--witness", WITNESS_KEY,
                              "--question-file", question_file, "--question-key", question_key, "--json"],
                             check=True, capture_output=True, text=True).stdout
        result = json.loads(out)
        assert result["verified"] and result["witnessed_by"], result
        print(f"{label}: receipt #{index} verified ({result['record']['kind']}, cosigned by {', '.join(result['witnessed_by'])})")
    # A tampered proof must fail both checks.
    text = open(path).read().split("\n")
    text[3 if text[1].startswith("extra") else 2] = "A" * 43 + "="
    bad = os.path.join(work, "bad.tlog-proof")
    open(bad, "w").write("\n".join(text))
    assert subprocess.run([sys.executable, os.path.join(HERE, "receipt_check.py"), bad, "--receipt", receipt, "--log-key", LOG_KEY],
                          capture_output=True).returncode == 1
    assert subprocess.run([BIN, "receipt", "verify", bad, "--key", LOG_KEY, "--receipt", receipt], capture_output=True).returncode == 1
    print("receipts end to end: ok")


if __name__ == "__main__":
    main()
