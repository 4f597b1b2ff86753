#!/usr/bin/env python3
"""Independent check of a Sealgate receipt and its C2SP tlog-proof, written from the specifications
(c2sp.org/tlog-proof, tlog-checkpoint, signed-note, tlog-cosignature; RFC 9162 §2.1.3.2), not from Sealgate's code.

  receipt_check.py PROOF_FILE --receipt 'log="…", index=N, leaf=:…:, request="…"' --log-key K [--witness-key K ...]

It hashes the entry carried on the proof's `extra` line as an RFC 6962 leaf, checks it is the receipt's leaf and
names the receipt's index and request id, recomputes the root from the inclusion proof, checks the log's Ed25519
note signature and every given witness's cosignature over the checkpoint. Exit 0 when all hold.
"""
import argparse, base64, hashlib, json, os, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from witness_cosignature_check import split_note, check_log, check_witness  # noqa: E402


def parse_receipt(value):
    members = {}
    for part in value.split(","):
        k, _, v = part.strip().partition("=")
        if v.startswith('"') and v.endswith('"'):
            v = v[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        elif v.startswith(":") and v.endswith(":"):
            v = base64.b64decode(v[1:-1], validate=True)
        members[k] = v
    return members["log"], int(members["index"]), members["leaf"], members["request"]


def parse_proof(text):
    head, _, checkpoint = text.partition("\n\n")
    lines = head.split("\n")
    assert lines[0] == "c2sp.org/tlog-proof@v1", "not a tlog-proof"
    lines = lines[1:]
    extra = None
    if lines and lines[0].startswith("extra "):
        extra = base64.b64decode(lines[0][6:], validate=True)
        lines = lines[1:]
    assert lines[0].startswith("index "), "no index line"
    index = int(lines[0][6:])
    assert str(index) == lines[0][6:], "index has leading zeroes"
    proof = [base64.b64decode(l, validate=True) for l in lines[1:]]
    assert all(len(h) == 32 for h in proof)
    return extra, index, proof, checkpoint


def node(l, r):
    return hashlib.sha256(b"\x01" + l + r).digest()


def root_from_inclusion(index, size, leaf, proof):
    """RFC 9162 §2.1.3.2."""
    assert index < size
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        assert sn != 0, "proof too long"
        if fn & 1 or fn == sn:
            r = node(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node(r, p)
        fn >>= 1
        sn >>= 1
    assert sn == 0, "proof too short"
    return r


def main():
    p = argparse.ArgumentParser()
    p.add_argument("proof")
    p.add_argument("--receipt", required=True)
    p.add_argument("--log-key", required=True)
    p.add_argument("--witness-key", action="append", default=[])
    a = p.parse_args()
    try:
        origin, index, leaf, request = parse_receipt(a.receipt)
        extra, pindex, proof, note = parse_proof(open(a.proof).read())
        assert pindex == index, f"proof is for index {pindex}, receipt for {index}"
        assert extra is not None, "the proof carries no entry"
        assert hashlib.sha256(b"\x00" + extra).digest() == leaf, "the entry does not hash to the receipt's leaf"
        entry = json.loads(extra)
        assert entry["index"] == index, "the entry names another index"
        assert entry["record"]["requestID"] == request, "the record is about another request"
        text, sigs = split_note(note)
        check_log(text, sigs, a.log_key)
        lines = text.split("\n")
        assert lines[0] == origin, "checkpoint of another log"
        size, root = int(lines[1]), base64.b64decode(lines[2], validate=True)
        assert root_from_inclusion(index, size, leaf, proof) == root, "inclusion proof does not lead to the checkpoint root"
        for key in a.witness_key:
            assert check_witness(text, sigs, key) is not None, f"no cosignature by {key.split('+')[0]}"
    except Exception as e:  # noqa: BLE001 - one line naming the failure
        print(f"receipt check FAILED: {type(e).__name__}: {e}")
        return 1
    print(f"receipt ok: {origin} #{index} ({entry['record']['kind']}) in checkpoint of size {size}, "
          f"{len(a.witness_key)} witness cosignature(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
