#!/usr/bin/env python3
"""Sign the image of an OCI layout offline with an ECDSA P-256 key and attach the signature as an OCI referrer.

    deploy/image/sign.py LAYOUT_DIR KEY.pem

The signature is a Sigstore bundle v0.3 with a DSSE envelope over an in-toto v1 statement whose subject is
the image manifest digest (what `cosign sign --key` produces, minus the transparency log entry, which an
offline signer cannot get). It is stored in the layout as a referrer manifest (`subject` = the image,
artifact type and layer media type `application/vnd.dev.sigstore.bundle.v0.3+json`) and listed in
index.json, which is where `sealgate image verify --layout DIR --key PUB.pem` looks for it. The image
manifest itself, and so its digest, is unchanged. Prints the image digest.
"""
import base64
import hashlib
import json
import os
import sys

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

BUNDLE_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
EMPTY_TYPE = "application/vnd.oci.empty.v1+json"


def put_blob(layout, data):
    digest = hashlib.sha256(data).hexdigest()
    path = os.path.join(layout, "blobs", "sha256", digest)
    with open(path, "wb") as f:
        f.write(data)
    return "sha256:" + digest


def canonical(obj):
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: sign.py LAYOUT_DIR KEY.pem (an EC P-256 private key)")
    layout, key_path = sys.argv[1], sys.argv[2]
    with open(key_path, "rb") as f:
        key = serialization.load_pem_private_key(f.read(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        sys.exit(f"sign.py: {key_path} is not an EC P-256 private key")
    index_path = os.path.join(layout, "index.json")
    with open(index_path) as f:
        index = json.load(f)
    images = [m for m in index["manifests"] if "subject" not in m and not m.get("artifactType", "").startswith("application/vnd.dev.sigstore.bundle")]
    if len(images) != 1:
        sys.exit(f"sign.py: {layout} lists {len(images)} images, expected one")
    image = images[0]
    image_digest = image["digest"]
    name = image.get("annotations", {}).get("org.opencontainers.image.ref.name", "sealgate")

    statement = canonical({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": name, "digest": {"sha256": image_digest.split(":", 1)[1]}}],
        "predicateType": "https://sigstore.dev/cosign/sign/v1",
        "predicate": {},
    })
    payload_type = "application/vnd.in-toto+json"
    pae = b"DSSEv1 %d %s %d %s" % (len(payload_type), payload_type.encode(), len(statement), statement)
    signature = key.sign(pae, ec.ECDSA(hashes.SHA256()))
    public = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    hint = base64.b64encode(hashlib.sha256(public).digest()).decode()
    bundle = canonical({
        "mediaType": BUNDLE_TYPE,
        "verificationMaterial": {"publicKey": {"hint": hint}, "tlogEntries": []},
        "dsseEnvelope": {
            "payload": base64.b64encode(statement).decode(),
            "payloadType": payload_type,
            "signatures": [{"sig": base64.b64encode(signature).decode(), "keyid": ""}],
        },
    })
    bundle_digest = put_blob(layout, bundle)
    empty_digest = put_blob(layout, b"{}")
    referrer = canonical({
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "artifactType": BUNDLE_TYPE,
        "config": {"mediaType": EMPTY_TYPE, "digest": empty_digest, "size": 2},
        "layers": [{"mediaType": BUNDLE_TYPE, "digest": bundle_digest, "size": len(bundle)}],
        "subject": {"mediaType": MANIFEST_TYPE, "digest": image_digest, "size": image["size"]},
        "annotations": {"dev.sigstore.bundle.content": "dsse-envelope", "dev.sigstore.bundle.predicateType": "https://sigstore.dev/cosign/sign/v1"},
    })
    referrer_digest = put_blob(layout, referrer)
    index["manifests"].append({"mediaType": MANIFEST_TYPE, "artifactType": BUNDLE_TYPE, "digest": referrer_digest, "size": len(referrer)})
    tmp = index_path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(index, f, separators=(",", ":"))
    os.replace(tmp, index_path)
    print(image_digest)


if __name__ == "__main__":
    main()
