-- release: puts each delivery still leased under its leaseId back in its queue, ready now or
-- after its delay (readiness: the release time plus the delay); lease and slot freed.
-- KEYS[1] the meta hash (routing only)
-- ARGV[4..] triples: taskId, leaseId, delayMs
-- Reply: per ref 1 (released) / 0 (lease moved on)
-- @include event-lib
-- @include queue-lib
local now = nowMs()
local out = {}
for i = 4, #ARGV, 3 do
  local id, delay = ARGV[i], tonumber(ARGV[i + 2])
  local d = parseDelivery(redis.call('HGET', K.deliveries, id))
  if d and d.s == 'l' and d.x == ARGV[i + 1] then
    releaseDelivery(id, d, delay, now)
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
flushIndexes()
flushQueues()
return out
