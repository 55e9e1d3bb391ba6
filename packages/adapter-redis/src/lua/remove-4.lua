-- remove: drops the tasks' deliveries whatever their state or lease (cancellation).
-- KEYS[1] stream · KEYS[2] deliveries hash · KEYS[3] delayed zset · KEYS[4] leases zset
-- ARGV[1] group · ARGV[2..] taskIds
-- Reply: number of deliveries dropped
local n = 0
for i = 2, #ARGV do
  local id = ARGV[i]
  local v = redis.call('HGET', KEYS[2], id)
  if v then
    local kind = string.sub(v, 1, 1)
    if kind == 'r' then
      redis.call('XDEL', KEYS[1], string.sub(v, 2))
    elseif kind == 'd' then
      redis.call('ZREM', KEYS[3], id)
    else
      redis.call('ZREM', KEYS[4], id)
    end
    redis.call('HDEL', KEYS[2], id)
    n = n + 1
  end
end
return n
