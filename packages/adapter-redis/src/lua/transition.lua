-- transition: transitions.transition, unfenced, of each listed task whose state is in `from`.
-- KEYS[1] the meta hash (routing only)
-- ARGV[4] to · ARGV[5] error JSON ('' none) · ARGV[6] from states, comma-separated
-- ARGV[7..] triples: taskId, events' `at`s, events' JSON lines
-- Reply: the ids that moved
-- @include event-lib
-- @include task-lib
local now = nowMs()
local from = {}
for s in string.gmatch(ARGV[6], '[^,]+') do from[s] = true end
local out, seen = {}, {}
for i = 7, #ARGV, 3 do
  local id = ARGV[i]
  if not seen[id] then
    seen[id] = true
    local cur = transitionTask(id, from, ARGV[4], nz(ARGV[5]), now)
    if cur then
      addEventsFor(nz(cur[3]), nz(cur[4]), ARGV[i + 1], ARGV[i + 2])
      out[#out + 1] = id
    end
  end
end
flushIndexes()
flushEvents()
return out
