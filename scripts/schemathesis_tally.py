#!/usr/bin/env python3
"""Summarises a schemathesis v4 NDJSON report (used by scripts/schemathesis_check.sh).

Usage: scripts/schemathesis_tally.py REPORT_DIR NAME
Prints on stderr one line: requests sent, responses with status 5xx, failed checks and clean operations;
on stdout 'CLEAN FAILING' (operation counts) for the shell to add up. Exits 1 when the report is missing.
"""
import glob
import json
import sys

report, name = sys.argv[1], sys.argv[2]
paths = glob.glob(report + "/*.ndjson")
if not paths:
    print(f"{name}: no schemathesis report in {report}", file=sys.stderr)
    sys.exit(1)
requests = server_errors = violations = 0
operations = {}
for path in paths:
    with open(path) as events:
        for line in events:
            body = json.loads(line).get("ScenarioFinished")
            if not body:
                continue
            recorder = body.get("recorder") or {}
            label = recorder.get("label", "?")
            clean = operations.setdefault(label, True)
            for interaction in (recorder.get("interactions") or {}).values():
                response = interaction.get("response") or {}
                if response:
                    requests += 1
                    server_errors += response.get("status_code", 0) >= 500
            for results in (recorder.get("checks") or {}).values():
                bad = [r for r in results if r.get("status") != "success"]
                violations += len(bad)
                clean = clean and not bad
            operations[label] = clean
good = sum(operations.values())
print(
    f"{name}: {requests} requests, {server_errors} with status 5xx, {violations} failed checks, "
    f"{good} of {len(operations)} operations clean",
    file=sys.stderr,
)
print(good, len(operations) - good)
