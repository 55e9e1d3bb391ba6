-- finish-settle: finish-1 plus what follows a written outcome, in one step: the delivery is acked
-- (or released, after a delay) under the same leaseId and the checkpoint optionally deleted. No
-- window where a finished task still holds a leased delivery; one round trip instead of two. The
-- events of each applied outcome are appended in the same step (none for an outcome refused).
-- KEYS[1] counts hash · KEYS[2] stream · KEYS[3] deliveries hash · KEYS[4] delayed zset · KEYS[5] leases zset
-- KEYS[6] checkpoint stats hash · KEYS[7] events stream · KEYS[8] event seq counter · KEYS[9] event floor
-- ARGV[1] key prefix P · ARGV[2] cap on visible events · ARGV[3..] 12 per outcome: taskId, leaseId,
--   state, resultJson?, errorJson?, durationMs?, queue action ('ack' | 'release' | 'none'), release
--   delay ms, delete checkpoint (1/0), number of events, their `at`s comma-separated, the events as
--   JSON objects joined by commas
-- Reply: array of 1 (outcome applied) / 0 (lease moved on: nothing written)
-- @include helpers
-- @include task-lib
-- @include event-lib
local P = ARGV[1]
local now = nowMs()
local out = {}
local settle = {}
for i = 3, #ARGV, 12 do
  local id = ARGV[i]
  local ok = finishTask(P, id, ARGV[i + 1], ARGV[i + 2], opt(ARGV[i + 3]), opt(ARGV[i + 4]), opt(ARGV[i + 5]), now)
  out[#out + 1] = ok and 1 or 0
  if ok then
    collectEvents(tonumber(ARGV[i + 9]), ARGV[i + 10], ARGV[i + 11])
    if ARGV[i + 6] ~= 'none' then settle[#settle + 1] = i end
    if ARGV[i + 8] == '1' and dropCheckpoint(P, id, KEYS[6]) then redis.call('HSET', P .. 't:' .. id, 'cp', 0) end
  end
end
-- The deliveries of applied outcomes, checked against the same leaseId and settled in bulk.
if #settle > 0 then
  local ids = {}
  for j, i in ipairs(settle) do ids[j] = ARGV[i] end
  local current = redis.call('HMGET', KEYS[3], unpack(ids))
  local acked, seen = {}, {}
  for j, i in ipairs(settle) do
    local id = ids[j]
    if not seen[id] and current[j] == 'l' .. ARGV[i + 1] then
      seen[id] = true
      if ARGV[i + 6] == 'ack' then
        acked[#acked + 1] = id
      else
        redis.call('ZREM', KEYS[5], id)
        local delay = tonumber(ARGV[i + 7])
        if delay > 0 then
          redis.call('HSET', KEYS[3], id, 'd')
          append(ZADDS, KEYS[4], now + delay, id)
        else
          redis.call('HSET', KEYS[3], id, 'r' .. redis.call('XADD', KEYS[2], '*', 't', id))
        end
      end
    end
  end
  if #acked > 0 then
    chunked('HDEL', KEYS[3], acked)
    chunked('ZREM', KEYS[5], acked)
  end
end
flush(KEYS[1])
flushEvents(KEYS[7], KEYS[8], KEYS[9], tonumber(ARGV[2]))
return out
