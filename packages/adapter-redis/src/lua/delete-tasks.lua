-- delete-tasks: removes each listed task that is finished, with its checkpoint and key mapping.
-- KEYS[1] the meta hash (routing only)
-- ARGV[4..] taskIds
-- Reply: how many tasks were removed
-- @include event-lib
-- @include task-lib
local n = 0
local seen = {}
for i = 4, #ARGV do
  local id = ARGV[i]
  if not seen[id] then
    seen[id] = true
    if TERMINAL[redis.call('HGET', K_task(id), 'st')] then
      removeTask(id)
      n = n + 1
    end
  end
end
flushIndexes()
return n
