#!/usr/bin/env python3
"""Checks that the official `openai` Python client works unchanged against a running Sealgate.

Usage: scripts/openai_client_check.py BASE_URL API_KEY
Asks a demo question without and with streaming, lists models, and checks a problem response.
Exits non-zero on any mismatch.
"""
import sys

import openai

base_url, api_key = sys.argv[1], sys.argv[2]
headers = {"Sealgate-Data-Class": "internal", "Sealgate-Scope": "handbook"}
client = openai.OpenAI(base_url=base_url, api_key=api_key, default_headers=headers)

models = [m.id for m in client.models.list()]
assert "extractive" in models, models

question = "How many days per week may I work remotely?"
reply = client.chat.completions.create(model="extractive", messages=[{"role": "user", "content": question}])
answer = reply.choices[0].message.content
assert "three days per week" in answer, answer
assert reply.choices[0].finish_reason == "stop"

pieces = []
stream = client.chat.completions.create(model="extractive", messages=[{"role": "user", "content": question}], stream=True)
for chunk in stream:
    if chunk.choices and chunk.choices[0].delta.content:
        pieces.append(chunk.choices[0].delta.content)
streamed = "".join(pieces)
assert streamed == answer, (streamed, answer)

try:
    client.chat.completions.create(model="no-such-profile", messages=[{"role": "user", "content": question}])
    raise AssertionError("unknown model profile was accepted")
except openai.BadRequestError as error:
    assert error.body is None or "unknown_model_profile" in str(error.body) or "unknown_model_profile" in str(error), error

bad = openai.OpenAI(base_url=base_url, api_key="sg_wrong", default_headers=headers)
try:
    bad.models.list()
    raise AssertionError("a wrong key was accepted")
except openai.AuthenticationError:
    pass

print("openai client check: 5 passed, 0 failed")
