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
    local fields = { 'st', to, 'ua', now, 'l', '', 'w', '' }
    local result, err, duration = opt(ARGV[i + 3]), opt(ARGV[i + 4]), opt(ARGV[i + 5])
    if result then fields[#fields + 1] = 'r'; fields[#fields + 1] = result end
    if err then fields[#fields + 1] = 'e'; fields[#fields + 1] = err end
    if duration then fields[#fields + 1] = 'd'; fields[#fields + 1] = duration end
    if TERMINAL[to] then fields[#fields + 1] = 'fa'; fields[#fields + 1] = now end
    redis.call('HSET', tk, unpack(fields))
    if to == 'scheduled' then redis.call('HINCRBY', tk, 'a', 1) end
    reindex(P, id, 'running', to, cur[3], cur[4], now)
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
flush(KEYS[1])
return out
