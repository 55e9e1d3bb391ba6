-- configure: merges a patch into a queue's settings (stored for every worker) and applies it:
-- a rate limit set anew starts full, a changed one keeps what was used; a changed group cap
-- opens or closes each group's lane; waiting claims are woken.
-- KEYS[1] the meta hash (routing only)
-- ARGV[4] queue · ARGV[5] paused ('' keep, '0', '1') · ARGV[6] concurrency ('' keep, 'null', n)
-- ARGV[7] groupConcurrency (same) · ARGV[8] rate limit ('' keep, 'null', 'max,perMs')
-- Reply: { paused, concurrency, groupConcurrency, rate max, rate perMs } ('' for null)
-- @include event-lib
-- @include queue-lib
local now = nowMs()
local q = ARGV[4]
local key = K_queueMeta(q)
local m = queueMeta(q)
local function setOrClear(field, v)
  if v == '' then return end
  if v == 'null' then redis.call('HDEL', key, field) else redis.call('HSET', key, field, v) end
end
if ARGV[5] ~= '' then redis.call('HSET', key, 'p', ARGV[5]) end
setOrClear('c', ARGV[6])
setOrClear('gc', ARGV[7])
if ARGV[8] == 'null' then
  redis.call('HDEL', key, 'rm', 'rp', 'rt', 'ro')
elseif ARGV[8] ~= '' then
  local max, perMs = string.match(ARGV[8], '^(%d+),(%d+)$')
  max, perMs = tonumber(max), tonumber(perMs)
  local tat, origin = 0, 0
  if m.rm ~= nil then
    -- Keep how far ahead of now the used claims reach.
    local aheadMs = math.max(0, (m.tat - (now - m.origin) * m.rm) / m.rm)
    tat, origin = math.ceil(aheadMs * max), now
  end
  redis.call('HSET', key, 'rm', max, 'rp', perMs, 'rt', tat, 'ro', origin)
end
redis.call('HSET', key, 'cf', '1')
if ARGV[7] ~= '' then
  QM[q] = nil
  queueMeta(q)
  for _, g in ipairs(redis.call('SMEMBERS', K_groupLanes(q))) do
    local head, score = laneHead(q, g)
    if head ~= nil then
      if laneOpen(q, g) then redis.call('ZADD', K_ready(q), score, head) else redis.call('ZREM', K_ready(q), head) end
    end
  end
end
QM[q] = nil
redis.call('HSETNX', K.queueNames, q, 0)
redis.call('XADD', K_wake(q), 'MAXLEN', 1, '*', 'w', 1)
local v = redis.call('HMGET', key, 'p', 'c', 'gc', 'rm', 'rp')
return { v[1] or '0', v[2] or '', v[3] or '', v[4] or '', v[5] or '' }
