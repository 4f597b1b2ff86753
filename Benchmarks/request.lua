-- wrk script: POST a rotating question to /v1/query (SEALGATE_ENDPOINT=query) or, OpenAI-style, to
-- /v1/chat/completions with the built-in model (SEALGATE_ENDPOINT=chat). Needs SEALGATE_KEY.
local chat = os.getenv("SEALGATE_ENDPOINT") == "chat"
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("SEALGATE_KEY")
wrk.headers["Content-Type"] = "application/json"
if chat then
  wrk.headers["Sealgate-Data-Class"] = "internal"
  wrk.headers["Sealgate-Scope"] = "bench"
end
local questions = {
  "Who approves the invoice request?", "When does finance review the payroll case?",
  "Which team escalates the security request?", "How long does the warehouse shipment take?",
  "Who records the vendor contract?", "When is the laptop request archived?",
}
request = function()
  local q = questions[math.random(#questions)]
  if chat then
    return wrk.format(nil, nil, nil, '{"model":"extractive","messages":[{"role":"user","content":"' .. q .. '"}]}')
  end
  return wrk.format(nil, nil, nil, '{"question":"' .. q .. '","data_class":"internal","scope":{"collections":["bench"]}}')
end
done = function(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("RESULT p50_ms=%.2f p99_ms=%.2f rps=%.1f requests=%d errors=%d\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.requests / (summary.duration / 1e6), summary.requests, errors))
end
