#!/usr/bin/env python3
"""The Python `sigstore` library on the same bundles as SigstoreBench, same run: verifications per second.

Usage: sigstore_python.py VECTORS_DIR SECONDS   (prints CSV lines name,value: per wall-clock second, and per CPU
second as name_cpu)
"""
import hashlib
import sys
import time
from pathlib import Path

from sigstore.hashes import Hashed
from sigstore.models import Bundle, TrustedRoot
from sigstore.verify import Verifier, policy
from sigstore_models.common.v1 import HashAlgorithm

vectors = Path(sys.argv[1]) / "sigstore"
seconds = float(sys.argv[2])
verifier = Verifier(trusted_root=TrustedRoot.from_file(str(vectors / "roots/trusted_root.staging.json")))


def rate(name, bundle_path, artifact_path, identity):
    bundle = Bundle.from_json((vectors / bundle_path).read_bytes())
    digest = hashlib.sha256((vectors / artifact_path).read_bytes()).digest()
    hashed = Hashed(algorithm=HashAlgorithm.SHA2_256, digest=digest)
    pol = policy.Identity(identity=identity, issuer="https://github.com/login/oauth")
    verifier.verify_artifact(hashed, bundle, pol)
    runs, start, cpu_start = 0, time.monotonic(), time.process_time()
    while time.monotonic() - start < seconds:
        verifier.verify_artifact(hashed, bundle, pol)
        runs += 1
    print(f"python_{name}_verify_per_s,{int(runs / (time.monotonic() - start))}")
    print(f"python_{name}_verify_per_s_cpu,{int(runs / (time.process_time() - cpu_start))}")


rate("cert_rekor1", "blob/bundle_v3.txt.sigstore", "blob/bundle_v3.txt", "william@yossarian.net")
rate("cert_rekor2_tsa", "blob/staging-rekor-v2.txt.sigstore.json", "blob/staging-rekor-v2.txt", "jku@goto.fi")
