-- wrk script: POST a distinct auto-call result per request (unique phone per thread and request),
-- optionally paced with WRK_DELAY_MS between requests of a connection, and print a JSON summary.
local threads = {}
local counter = 1

function setup(thread)
  thread:set("id", counter)
  table.insert(threads, thread)
  counter = counter + 1
end

function init(args)
  n = 0
  token = os.getenv("WRK_TOKEN") or ""
  delay_ms = tonumber(os.getenv("WRK_DELAY_MS") or "0")
  run = os.getenv("WRK_RUN") or "0"
end

function delay()
  return delay_ms
end

function request()
  n = n + 1
  local body = string.format(
    '{"campaign_id": %s, "create_at": "11/26/2026 09:15:00", "hotline": "02471000000", ' ..
    '"phone": "09%02d%06d", "name": "Nguyen Van An", "description": "", "status": 200, ' ..
    '"time_call": 35, "postage": 750.0, "service_charge": 0.0, "action_log": "1", "event_data": "autocall"}',
    run, id, n)
  return wrk.format("POST", "/webhooks/vbot/autocall",
    {["Content-Type"] = "application/json", ["X-Webhook-Token"] = token}, body)
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "non_2xx": %d, "socket_errors": %d, ' ..
    '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, errors.status, errors.connect + errors.read + errors.write + errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
