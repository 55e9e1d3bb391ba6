-- reclaim: returns deliveries whose lease expired (Redis clock) to their queue as ready now,
-- freeing their slots, and reports the expired leases. Atomic: a lease taken off the lease set
-- is reported by this very reply.
-- KEYS[1] the meta hash (routing only)
-- ARGV[4] limit
-- Reply: flat taskId, expiredLeaseId, ...
-- @include event-lib
-- @include queue-lib
local now = nowMs()
local expired = redis.call('ZRANGEBYSCORE', K.leases, '-inf', now, 'LIMIT', 0, tonumber(ARGV[4]))
local out = {}
for _, id in ipairs(expired) do
  local v = redis.call('HGET', K.deliveries, id)
  local d = parseDelivery(v)
  if d and d.s == 'l' then
    releaseDelivery(id, d, 0, now)
    out[#out + 1] = id
    out[#out + 1] = d.x
  else
    redis.call('ZREM', K.leases, id)
    if v and not d then quarantineDelivery(id, v, 'leased delivery record does not decode', now) end
  end
end
flushIndexes()
flushQueues()
flushEvents()
return out
