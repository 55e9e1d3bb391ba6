-- enqueue: makes each task deliverable (after its delay) unless it already has a live delivery.
-- KEYS[1] stream · KEYS[2] deliveries hash (taskId → 'd' | 'r'<streamId> | 'l'<leaseId>) · KEYS[3] delayed zset
-- ARGV[1] consumer group · ARGV[2..] pairs: taskId, delayMs
-- Reply: number of deliveries created
-- @include helpers
local now = nowMs()
-- Create the group with the stream so no entry is ever added to a stream without its group.
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('XGROUP', 'CREATE', KEYS[1], ARGV[1], '0', 'MKSTREAM')
end
local created = 0
for i = 2, #ARGV, 2 do
  local id = ARGV[i]
  local delay = tonumber(ARGV[i + 1])
  -- HSETNX is the "at most one live delivery per task" gate.
  if redis.call('HSETNX', KEYS[2], id, 'd') == 1 then
    if delay > 0 then
      redis.call('ZADD', KEYS[3], now + delay, id)
    else
      redis.call('HSET', KEYS[2], id, 'r' .. redis.call('XADD', KEYS[1], '*', 't', id))
    end
    created = created + 1
  end
end
return created
