-- wrk script: POST /v1/query with a rotating question. Needs SEALGATE_KEY in the environment.
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("SEALGATE_KEY")
wrk.headers["Content-Type"] = "application/json"
local questions = {
  "Who approves the invoice request?", "When does finance review the payroll case?",
  "Which team escalates the security request?", "How long does the warehouse shipment take?",
  "Who records the vendor contract?", "When is the laptop request archived?",
}
request = function()
  local q = questions[math.random(#questions)]
  return wrk.format(nil, nil, nil, '{"question":"' .. q .. '","data_class":"internal","scope":{"collections":["bench"]}}')
end
done = function(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("RESULT p50_ms=%.2f p99_ms=%.2f rps=%.1f requests=%d errors=%d\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.requests / (summary.duration / 1e6), summary.requests, errors))
end
