-- retry: transitions.retry of each listed finished task: back to pending for another run.
-- KEYS[1] the meta hash (routing only)
-- ARGV[4] '1' to reset attempts and recoveries · ARGV[5..] triples: taskId, events' `at`s, events' JSON lines
-- Reply: the ids that moved
-- @include event-lib
-- @include task-lib
local now = nowMs()
local out, seen = {}, {}
for i = 5, #ARGV, 3 do
  local id = ARGV[i]
  if not seen[id] then
    seen[id] = true
    local cur = retryTask(id, ARGV[4] == '1', now)
    if cur then
      addEventsFor(nz(cur[3]), nz(cur[4]), ARGV[i + 1], ARGV[i + 2])
      out[#out + 1] = id
    end
  end
end
flushIndexes()
flushEvents()
return out
