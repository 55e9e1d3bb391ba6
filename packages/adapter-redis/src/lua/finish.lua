-- finish: transitions.finish of each outcome whose task runs under its leaseId, with its events.
-- KEYS[1] the meta hash (routing only)
-- ARGV[4..] 8 per outcome: taskId, leaseId, state, result JSON ('' none), error JSON ('' none),
--   durationMs ('' none), the events' `at`s, the events' JSON lines (see event-lib)
-- Reply: per outcome 1 (applied) / 0 (lease moved on: nothing written)
-- @include event-lib
-- @include task-lib
local now = nowMs()
local out = {}
for i = 4, #ARGV, 8 do
  local cur = finishTask(ARGV[i], ARGV[i + 1], ARGV[i + 2], nz(ARGV[i + 3]), nz(ARGV[i + 4]), nz(ARGV[i + 5]), NOW_TEXT)
  if cur then
    addEventsFor(nz(cur[4]), nz(cur[5]), ARGV[i + 6], ARGV[i + 7])
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
flushIndexes()
flushEvents()
return out
