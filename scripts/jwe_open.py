#!/usr/bin/env python3
"""Cross-check Sealgate's JOSE module against python jwcrypto (an independent JWE implementation).

Decrypt a flattened (or compact) JWE and print the plaintext as base64url:

    python3 scripts/jwe_open.py --key PRIVATE_JWK.json --jwe JWE.json

Encrypt to a public JWK and print a flattened JWE (JSON) on stdout:

    python3 scripts/jwe_open.py --encrypt --key PUBLIC_JWK.json --alg ECDH-ES+A256KW --enc A256GCM \\
        --plaintext-b64 SGVsbG8

Exit status 0 on success; 1 with a message on stderr on any failure; 2 for usage errors.
Requires `pip install jwcrypto`. Only the algorithms Sealgate supports are allowed.
"""

import argparse
import base64
import json
import sys

ALGS = ["ECDH-ES+A128KW", "ECDH-ES+A256KW", "RSA-OAEP", "RSA-OAEP-256", "A128KW", "A256KW", "dir"]
ENCS = ["A128GCM", "A256GCM"]


def b64u_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64u_decode(text: str) -> bytes:
    if any(c in text for c in "+/="):
        raise ValueError("not unpadded base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def fail(message: str) -> "None":
    print(f"jwe_open: {message}", file=sys.stderr)
    sys.exit(1)


def load_key(path: str):
    from jwcrypto import jwk

    with open(path, "r", encoding="utf-8") as handle:
        return jwk.JWK.from_json(handle.read())


def decrypt(key_path: str, jwe_path: str) -> None:
    from jwcrypto import jwe

    key = load_key(key_path)
    with open(jwe_path, "r", encoding="utf-8") as handle:
        raw = handle.read().strip()
    token = jwe.JWE()
    token.allowed_algs = ALGS + ENCS
    token.deserialize(raw, key=key)
    sys.stdout.write(b64u_encode(token.payload) + "\n")


def encrypt(key_path: str, alg: str, enc: str, plaintext_b64: str, kid: "str | None") -> None:
    from jwcrypto import jwe

    if alg not in ALGS:
        fail(f"unsupported --alg {alg!r}; one of {', '.join(ALGS)}")
    if enc not in ENCS:
        fail(f"unsupported --enc {enc!r}; one of {', '.join(ENCS)}")
    key = load_key(key_path)
    plaintext = b64u_decode(plaintext_b64)
    header = {"alg": alg, "enc": enc}
    if kid is not None:
        header["kid"] = kid
    token = jwe.JWE(plaintext, protected=json.dumps(header, separators=(",", ":"), sort_keys=True))
    token.allowed_algs = ALGS + ENCS
    token.add_recipient(key)
    flattened = json.loads(token.serialize(compact=False))
    if "recipients" in flattened:
        fail("jwcrypto produced the general serialization; expected flattened")
    sys.stdout.write(json.dumps(flattened, sort_keys=True) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--key", required=True, help="JWK file: private for decryption, public for --encrypt")
    parser.add_argument("--jwe", help="flattened JSON or compact JWE file to decrypt")
    parser.add_argument("--encrypt", action="store_true", help="encrypt instead of decrypt")
    parser.add_argument("--alg", default="ECDH-ES+A256KW", help="key management algorithm for --encrypt")
    parser.add_argument("--enc", default="A256GCM", help="content encryption for --encrypt")
    parser.add_argument("--plaintext-b64", help="plaintext for --encrypt, base64url")
    parser.add_argument("--kid", help="kid for the protected header with --encrypt")
    args = parser.parse_args()

    try:
        import jwcrypto  # noqa: F401
    except ImportError:
        fail("python jwcrypto is not installed (pip install jwcrypto)")

    try:
        if args.encrypt:
            if args.plaintext_b64 is None:
                parser.error("--encrypt needs --plaintext-b64")
            encrypt(args.key, args.alg, args.enc, args.plaintext_b64, args.kid)
        else:
            if args.jwe is None:
                parser.error("decryption needs --jwe")
            decrypt(args.key, args.jwe)
    except SystemExit:
        raise
    except Exception as error:  # jwcrypto raises many types; report them uniformly
        fail(f"{type(error).__name__}: {error}")


if __name__ == "__main__":
    main()
