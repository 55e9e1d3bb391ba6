-- ack: removes each delivery still leased under its leaseId; its slot is free again.
-- KEYS[1] the meta hash (routing only)
-- ARGV[4..] pairs: taskId, leaseId
-- Reply: per ref 1 (removed) / 0 (lease moved on)
-- @include event-lib
-- @include queue-lib
-- Every ref's delivery in one read, the acked ones deleted in one write: two calls per batch,
-- not two per ref. A ref repeated in the batch is acked once (its slot is freed once).
local ids = {}
for i = 4, #ARGV, 2 do ids[#ids + 1] = ARGV[i] end
local records = hmgetAll(K.deliveries, ids)
local out, acked, done = {}, {}, {}
for i = 4, #ARGV, 2 do
  local id = ARGV[i]
  local d = not done[id] and parseDelivery(records[(i - 2) / 2])
  if d and d.s == 'l' and d.x == ARGV[i + 1] then
    done[id] = true
    acked[#acked + 1] = id
    unlease(id, d)
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
if #acked > 0 then chunked('HDEL', K.deliveries, acked) end
flushIndexes()
flushQueues()
return out
