#!/usr/bin/env python3
"""Independent check of C2SP cosignature/v1 (timestamped Ed25519) witness cosignatures on a checkpoint note.

Written from the C2SP specifications (signed-note, tlog-checkpoint, tlog-cosignature), not from Sealgate's code:
it recomputes every key id from the verifier keys, checks the log's Ed25519 note signature over the note text and
each witness cosignature over "cosignature/v1\\ntime <t>\\n" + text, with the `cryptography` package.

  witness_cosignature_check.py vector FILE           check a vector file (JSON; Tests/WitnessTests/Vectors/)
  witness_cosignature_check.py generate FILE         write the vector from its fixed test seeds (test keys only)
  witness_cosignature_check.py note NOTE_FILE --log-key K --witness-key K [--witness-key K ...] [--quorum N]
                                                     check a note as GET /audit/checkpoint serves it
Exit 0 when everything verifies; 1 with the first failure otherwise.
"""
import argparse, base64, hashlib, json, struct, sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives import serialization

DASH = "\u2014"


def key_id(name, sig_type, raw):
    return hashlib.sha256(name.encode() + b"\n" + bytes([sig_type]) + raw).digest()[:4]


def parse_vkey(vkey, sig_type):
    name, hex_id, b64 = vkey.strip().split("+", 2)
    raw = base64.b64decode(b64, validate=True)
    assert len(raw) == 33 and raw[0] == sig_type, f"{name}: not a type 0x{sig_type:02x} Ed25519 verifier key"
    assert key_id(name, sig_type, raw[1:]).hex() == hex_id, f"{name}: key id does not match"
    return name, bytes.fromhex(hex_id), Ed25519PublicKey.from_public_bytes(raw[1:])


def split_note(note):
    cut = note.rindex("\n\n")
    text = note[:cut + 1]
    sigs = []
    for line in note[cut + 2:].split("\n")[:-1]:
        dash, name, b64 = line.split(" ")
        assert dash == DASH, "signature line must start with an em dash"
        sigs.append((name, base64.b64decode(b64, validate=True)))
    return text, sigs


def check_log(text, sigs, vkey):
    name, kid, pub = parse_vkey(vkey, 0x01)
    assert text.split("\n")[0] == name, "checkpoint origin is not the log key's name"
    for n, blob in sigs:
        if n == name and blob[:4] == kid:
            pub.verify(blob[4:], text.encode())  # raises InvalidSignature
            return
    raise AssertionError("no log signature")


def check_witness(text, sigs, vkey):
    name, kid, pub = parse_vkey(vkey, 0x04)
    for n, blob in sigs:
        if n == name and blob[:4] == kid:
            assert len(blob) == 4 + 8 + 64, "cosignature is not key id + u64 time + 64-byte signature"
            (t,) = struct.unpack(">Q", blob[4:12])
            assert t < 2**63
            pub.verify(blob[12:], f"cosignature/v1\ntime {t}\n".encode() + text.encode())
            return t
    return None


def seed_key(hex_seed):
    return Ed25519PrivateKey.from_private_bytes(bytes.fromhex(hex_seed))


def raw_public(private):
    return private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def generate(path):
    v = {}
    v["log_name"], v["witness_name"] = "example.sealgate.test/audit", "witness.sealgate.test/w1"
    v["log_seed_hex"] = bytes(range(32)).hex()
    v["witness_seed_hex"] = bytes(range(32, 64)).hex()
    v["time"] = 1767225600
    root = base64.b64encode(hashlib.sha256(b"sealgate witness vector").digest()).decode()
    v["checkpoint_text"] = f"{v['log_name']}\n42\n{root}\n"
    log, wit = seed_key(v["log_seed_hex"]), seed_key(v["witness_seed_hex"])
    lraw, wraw = raw_public(log), raw_public(wit)
    lid, wid = key_id(v["log_name"], 1, lraw), key_id(v["witness_name"], 4, wraw)
    lkey = base64.b64encode(bytes([1]) + lraw).decode()
    wkey = base64.b64encode(bytes([4]) + wraw).decode()
    v["log_key"] = f"{v['log_name']}+{lid.hex()}+{lkey}"
    v["witness_key"] = f"{v['witness_name']}+{wid.hex()}+{wkey}"
    text = v["checkpoint_text"]
    log_sig = base64.b64encode(lid + log.sign(text.encode())).decode()
    msg = f"cosignature/v1\ntime {v['time']}\n".encode() + text.encode()
    cosig = base64.b64encode(wid + struct.pack(">Q", v["time"]) + wit.sign(msg)).decode()
    v["cosignature_line"] = f"{DASH} {v['witness_name']} {cosig}\n"
    v["cosigned_note"] = f"{text}\n{DASH} {v['log_name']} {log_sig}\n" + v["cosignature_line"]
    with open(path, "w") as f:
        json.dump(v, f, indent=2, sort_keys=True, ensure_ascii=False)
        f.write("\n")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["vector", "generate", "note"])
    p.add_argument("file")
    p.add_argument("--log-key")
    p.add_argument("--witness-key", action="append", default=[])
    p.add_argument("--quorum", type=int)
    a = p.parse_args()
    if a.mode == "generate":
        generate(a.file)
        print("wrote", a.file)
        return 0
    try:
        if a.mode == "vector":
            v = json.load(open(a.file))
            note, log_key, witness_keys, quorum = v["cosigned_note"], v["log_key"], [v["witness_key"]], 1
        else:
            note, log_key, witness_keys = open(a.file).read(), a.log_key, a.witness_key
            quorum = a.quorum or len(witness_keys)
        text, sigs = split_note(note)
        check_log(text, sigs, log_key)
        times = [t for t in (check_witness(text, sigs, k) for k in witness_keys) if t is not None]
        assert len(times) >= quorum, f"{len(times)} of the {quorum} required witness cosignatures verify"
        if a.mode == "vector":
            assert times == [v["time"]], "cosignature time differs from the vector"
            # A cosignature over another checkpoint must not verify.
            other = text.replace("\n42\n", "\n43\n")
            assert check_witness_fails(other, sigs, v["witness_key"]), "a cosignature verified over another text"
    except Exception as e:  # noqa: BLE001 - report any failure as one line
        print("FAIL", type(e).__name__, e)
        return 1
    print(f"ok: log signature and {len(times)} witness cosignature(s) verify (cosignature/v1)")
    return 0


def check_witness_fails(text, sigs, vkey):
    try:
        check_witness(text, sigs, vkey)
        return False
    except Exception:  # InvalidSignature
        return True


if __name__ == "__main__":
    sys.exit(main())
