-- wrk script: POST a distinct application to /v1/decisions on every
-- request, so that no cache can answer one (misses). Applications differ in
-- credit_amount and age_years, from a counter per wrk thread; BENCH_SEED
-- (0 to 24) keeps the wrk processes of one run apart, BENCH_THREADS says how
-- many threads each has.
local seed = tonumber(os.getenv("BENCH_SEED") or "0")
local stride = tonumber(os.getenv("BENCH_THREADS") or "1")
local next_thread = 0

function setup(thread)
  thread:set("tid", next_thread)
  next_thread = next_thread + 1
end

local file = io.open("domain/testdata/example-application.json", "r")
local example = file:read("*a")
file:close()

function init(args)
  sent = 0
end

function request()
  local u = seed * 4000000 + sent * stride + tid
  sent = sent + 1
  local body = example
    :gsub('"credit_amount":%s*[%d.]+', string.format('"credit_amount": %d', 1 + u % 1000000))
    :gsub('"age_years":%s*%d+', string.format('"age_years": %d', 18 + math.floor(u / 1000000) % 100))
  return wrk.format("POST", nil, { ["Content-Type"] = "application/json" }, body)
end

function done(summary, latency, requests)
  io.write(string.format("non-2xx answers: %d\n", summary.errors.status))
end
