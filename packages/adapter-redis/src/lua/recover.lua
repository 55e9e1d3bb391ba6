-- recover: transitions.recover of each task still running under its leaseId: back to pending
-- with recoveries + 1, or dead with the poison pill core composed; appends the matching events.
-- KEYS[1] the meta hash (routing only)
-- ARGV[4] maxRecoveries · ARGV[5..] 7 per item: taskId, leaseId, poison pill JSON, recovered
--   events' `at`s and JSON lines, dead events' `at`s and JSON lines
-- Reply: per item 'recovered' | 'dead' | 'skipped'
-- @include event-lib
-- @include task-lib
local now = nowMs()
local max = tonumber(ARGV[4])
local out = {}
for i = 5, #ARGV, 7 do
  local result, cur = recoverTask(ARGV[i], ARGV[i + 1], max, ARGV[i + 2], now)
  if result == 'recovered' then addEventsFor(nz(cur[4]), nz(cur[5]), ARGV[i + 3], ARGV[i + 4]) end
  if result == 'dead' then addEventsFor(nz(cur[4]), nz(cur[5]), ARGV[i + 5], ARGV[i + 6]) end
  out[#out + 1] = result
end
flushIndexes()
flushEvents()
return out
