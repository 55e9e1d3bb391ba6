-- finish-settle: finish, then for each applied outcome its queue action (ack, or release after a
-- delay, under the same leaseId) and checkpoint delete, in one step (TaskFlow.finishAndSettle):
-- no moment where a finished task still holds a leased delivery.
-- KEYS[1] the meta hash (routing only)
-- ARGV[4..] 11 per item: the 8 of finish.lua, then 'ack' | 'release' | 'none', release delay ms,
--   '1' to delete the checkpoint
-- Reply: per item 1 (applied) / 0 (lease moved on: nothing written)
-- @include event-lib
-- @include queue-lib
-- @include task-lib
local now = nowMs()
local out = {}
-- Every item's delivery in one read; acked ones are deleted in one write at the end (an item
-- whose task appears twice is refused the second time by finishTask, so none is read stale).
local ids = {}
for i = 4, #ARGV, 11 do ids[#ids + 1] = ARGV[i] end
local records = hmgetAll(K.deliveries, ids)
local acked = {}
for i = 4, #ARGV, 11 do
  local id, leaseId = ARGV[i], ARGV[i + 1]
  local cur = finishTask(id, leaseId, ARGV[i + 2], nz(ARGV[i + 3]), nz(ARGV[i + 4]), nz(ARGV[i + 5]), NOW_TEXT)
  if cur then
    addEventsFor(nz(cur[4]), nz(cur[5]), ARGV[i + 6], ARGV[i + 7])
    local action = ARGV[i + 8]
    if action ~= 'none' then
      local d = parseDelivery(records[(i - 4) / 11 + 1])
      if d and d.s == 'l' and d.x == leaseId then
        if action == 'ack' then
          unlease(id, d)
          acked[#acked + 1] = id
        else
          releaseDelivery(id, d, tonumber(ARGV[i + 9]), now)
        end
      end
    end
    if ARGV[i + 10] == '1' and dropCheckpoint(id) then redis.call('HSET', K_task(id), 'cp', 0) end
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
if #acked > 0 then chunked('HDEL', K.deliveries, acked) end
flushIndexes()
flushQueues()
flushEvents()
return out
