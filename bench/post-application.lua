-- wrk script: POST the example application to /v1/decisions.
local file = io.open("domain/testdata/example-application.json", "r")
wrk.method = "POST"
wrk.body = file:read("*a")
file:close()
wrk.headers["Content-Type"] = "application/json"

-- wrk counts answers that are not 2xx or 3xx; say it, so that a run that
-- measured errors cannot pass for a fast one.
function done(summary, latency, requests)
  io.write(string.format("non-2xx answers: %d\n", summary.errors.status))
end
