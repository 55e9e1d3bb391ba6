-- ack: removes each delivery still leased under the given leaseId.
-- KEYS[1] stream · KEYS[2] deliveries hash · KEYS[3] leases zset
-- ARGV[1] group · ARGV[2..] pairs: taskId, leaseId
-- Reply: array of 1 (removed) / 0 (lease moved on)
local out = {}
local sids = {}
for i = 2, #ARGV, 2 do
  local id, leaseId = ARGV[i], ARGV[i + 1]
  local v = redis.call('HGET', KEYS[2], id)
  local ok = 0
  if v and string.sub(v, 1, 1) == 'l' then
    local sp = string.find(v, ' ', 2, true)
    if string.sub(v, sp + 1) == leaseId then
      sids[#sids + 1] = string.sub(v, 2, sp - 1)
      redis.call('HDEL', KEYS[2], id)
      redis.call('ZREM', KEYS[3], id)
      ok = 1
    end
  end
  out[#out + 1] = ok
end
-- Acked entries are deleted at once: the stream only ever holds ready and in-flight deliveries.
if #sids > 0 then
  redis.call('XACK', KEYS[1], ARGV[1], unpack(sids))
  redis.call('XDEL', KEYS[1], unpack(sids))
end
return out
