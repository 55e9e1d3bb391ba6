-- checkpoint-delete: deletes the tasks' checkpoints and clears hasCheckpoint of tasks that remain.
-- KEYS[1] the meta hash (routing only)
-- ARGV[4..] taskIds
-- Reply: how many checkpoints were deleted
-- @include event-lib
-- @include task-lib
local n = 0
local seen = {}
for i = 4, #ARGV do
  local id = ARGV[i]
  if not seen[id] then
    seen[id] = true
    if dropCheckpoint(id) then
      if redis.call('EXISTS', K_task(id)) == 1 then redis.call('HSET', K_task(id), 'cp', 0) end
      n = n + 1
    end
  end
end
return n
