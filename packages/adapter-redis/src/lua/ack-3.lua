-- ack: removes each delivery still leased under the given leaseId.
-- KEYS[1] stream (unused; kept for a uniform key set) · KEYS[2] deliveries hash · KEYS[3] leases zset
-- ARGV[1] group · ARGV[2..] pairs: taskId, leaseId
-- Reply: array of 1 (removed) / 0 (lease moved on)
local ids = {}
for i = 2, #ARGV, 2 do ids[#ids + 1] = ARGV[i] end
local current = redis.call('HMGET', KEYS[2], unpack(ids))
local out, gone, seen = {}, {}, {}
for j, id in ipairs(ids) do
  if not seen[id] and current[j] == 'l' .. ARGV[2 * j + 1] then
    seen[id] = true
    gone[#gone + 1] = id
    out[j] = 1
  else
    out[j] = 0
  end
end
if #gone > 0 then
  redis.call('HDEL', KEYS[2], unpack(gone))
  redis.call('ZREM', KEYS[3], unpack(gone))
end
return out
