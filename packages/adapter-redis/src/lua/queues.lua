-- queues: the depth of every known queue, totalled ('depth') or per queue with its settings
-- ('queues'). Queues with no delivery and no settings are forgotten. Due delayed deliveries
-- count as ready; expired leases are counted from the lease set.
-- KEYS[1] the meta hash (routing only)
-- ARGV[4] 'depth' | 'queues'
-- Reply: depth → { ready, leased, expired, delayed }; queues → per queue { name, paused, concurrency,
--   groupConcurrency, rate max, rate perMs, ready, leased, expired, delayed } ('' for null)
-- @include event-lib
-- @include queue-lib
local now = nowMs()
local expired = {}
local expiredTotal = 0
for _, id in ipairs(redis.call('ZRANGEBYSCORE', K.leases, '-inf', now)) do
  local d = parseDelivery(redis.call('HGET', K.deliveries, id))
  if d then expired[d.q] = (expired[d.q] or 0) + 1 end
  expiredTotal = expiredTotal + 1
end
local function readyCount(q)
  local n = redis.call('ZCARD', K_ready(q))
  for _, g in ipairs(redis.call('SMEMBERS', K_groupLanes(q))) do
    n = n + redis.call('ZCARD', K_lane(q, g))
    local head = laneHead(q, g)
    if head and redis.call('ZSCORE', K_ready(q), head) then n = n - 1 end
  end
  return n + redis.call('ZCOUNT', K_delayed(q), '-inf', now)
end
local total = { 0, redis.call('ZCARD', K.leases), expiredTotal, 0 }
local out = {}
local names = redis.call('HGETALL', K.queueNames)
for i = 1, #names, 2 do
  local q = names[i]
  local m = redis.call('HMGET', K_queueMeta(q), 'p', 'c', 'gc', 'rm', 'rp', 'l', 'cf')
  local ready = readyCount(q)
  local delayed = redis.call('ZCOUNT', K_delayed(q), '(' .. now, '+inf')
  local leased = math.max(0, tonumber(m[6]) or 0)
  total[1] = total[1] + ready
  total[4] = total[4] + delayed
  if ready + delayed + leased == 0 and m[7] ~= '1' then
    -- Forgotten only while no claim waits on it: its waiting mark lives in the same field.
    if (tonumber(names[i + 1]) or 0) <= now then redis.call('HDEL', K.queueNames, q) end
  elseif ARGV[4] == 'queues' then
    out[#out + 1] = { q, m[1] or '0', m[2] or '', m[3] or '', m[4] or '', m[5] or '', ready, leased, expired[q] or 0, delayed }
  end
end
if ARGV[4] == 'depth' then return total end
return out
