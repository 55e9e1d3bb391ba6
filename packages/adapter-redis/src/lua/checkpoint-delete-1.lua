-- checkpoint-delete: deletes the tasks' checkpoints and clears hasCheckpoint on tasks that remain.
-- KEYS[1] checkpoint stats hash
-- ARGV[1] key prefix P · ARGV[2..] taskIds
-- Reply: number of checkpoints deleted
-- @include helpers
local P = ARGV[1]
local n = 0
local seen = {}
for i = 2, #ARGV do
  local id = ARGV[i]
  if not seen[id] then
    seen[id] = true
    if dropCheckpoint(P, id, KEYS[1]) then
      if redis.call('EXISTS', P .. 't:' .. id) == 1 then redis.call('HSET', P .. 't:' .. id, 'cp', 0) end
      n = n + 1
    end
  end
end
return n
