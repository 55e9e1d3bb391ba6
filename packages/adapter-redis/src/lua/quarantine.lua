-- quarantine: transitions.quarantine of each task whose record the adapter could not decode
-- (once: a task already quarantined is left as it is), appending its `task.corrupt` event.
-- KEYS[1] the meta hash (routing only)
-- ARGV[4..] 4 per task: taskId, corruption JSON, error JSON (core's corruptRecordError), the
--   event's JSON without its opening brace, runId, phaseId and at
-- Reply: per task its hash after the change (flat; empty when unknown)
-- @include event-lib
-- @include task-lib
local now = nowMs()
local out = {}
for i = 4, #ARGV, 4 do
  local cur = quarantineTask(ARGV[i], ARGV[i + 1], ARGV[i + 2], now)
  if cur then addEvent('{"runId":' .. jsonStr(nz(cur[3])) .. ',"phaseId":' .. jsonStr(nz(cur[4])) .. ',"at":' .. now .. ',' .. ARGV[i + 3], now) end
  out[#out + 1] = redis.call('HGETALL', K_task(ARGV[i]))
end
flushIndexes()
flushEvents()
return out
