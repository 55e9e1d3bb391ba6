-- heartbeat: transitions.heartbeat (heartbeatAt = now) of each task running under its leaseId;
-- with a leaseMs, first extends each delivery's lease and beats only the tasks whose lease it
-- still held (TaskFlow.heartbeat).
-- KEYS[1] the meta hash (routing only)
-- ARGV[4] leaseMs ('' for tasks.heartbeat alone) · ARGV[5..] pairs: taskId, leaseId
-- Reply: per ref 1 / 0
-- @include event-lib
-- @include queue-lib
-- @include task-lib
local now = nowMs()
local leaseMs = tonumber(ARGV[4])
local out = {}
for i = 5, #ARGV, 2 do
  local id, leaseId = ARGV[i], ARGV[i + 1]
  local ok = true
  if leaseMs then
    local d = parseDelivery(redis.call('HGET', K.deliveries, id))
    ok = d ~= nil and d.s == 'l' and d.x == leaseId
    if ok then redis.call('ZADD', K.leases, now + leaseMs, id) end
  end
  if ok and holding(id, leaseId) then
    redis.call('HSET', K_task(id), 'hb', now)
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
return out
