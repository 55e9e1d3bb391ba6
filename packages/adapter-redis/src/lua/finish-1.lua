-- finish: applies each outcome only if the task is running under leaseId, clearing the lease.
-- KEYS[1] counts hash
-- ARGV[1] key prefix P · ARGV[2..] 6 per outcome: taskId, leaseId, state, resultJson?, errorJson?, durationMs?
-- Reply: array of 1 (applied) / 0 (lease moved on)
-- @include helpers
local P = ARGV[1]
local now = nowMs()
local out = {}
for i = 2, #ARGV, 6 do
  local id, leaseId, to = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local tk = P .. 't:' .. id
  local cur = redis.call('HMGET', tk, 'st', 'l', 'sq', 'ph')
  if cur[1] == 'running' and cur[2] == leaseId then
    redis.call('HDEL', tk, 'l', 'w')
    redis.call('HSET', tk, 'st', to, 'ua', now)
    local result, err, duration = opt(ARGV[i + 3]), opt(ARGV[i + 4]), opt(ARGV[i + 5])
    if result then redis.call('HSET', tk, 'r', result) end
    if err then redis.call('HSET', tk, 'e', err) end
    if duration then redis.call('HSET', tk, 'd', duration) end
    if to == 'scheduled' then redis.call('HINCRBY', tk, 'a', 1) end
    if TERMINAL[to] then redis.call('HSET', tk, 'fa', now) end
    reindex(P, KEYS[1], id, 'running', to, cur[3], cur[4], now)
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
return out
