-- timer-schedule: stores each timer due at now + delayMs (Redis clock), or returns the pending timer
-- that already has its key (or its id).
-- KEYS[1] due zset
-- ARGV[1] key prefix P · ARGV[2..] 8 per timer: id, kind, delayMs, key?, taskId?, phaseId?, name?, payloadJson
-- Reply: per timer its hash as a flat field/value array
-- @include helpers
local P = ARGV[1]
local now = nowMs()
local out = {}
for i = 2, #ARGV, 8 do
  local id = ARGV[i]
  local key, taskId, phaseId, name = opt(ARGV[i + 3]), opt(ARGV[i + 4]), opt(ARGV[i + 5]), opt(ARGV[i + 6])
  local existing = nil
  if key then
    local other = redis.call('GET', P .. 'tmk:' .. key)
    if other and redis.call('EXISTS', P .. 'tmi:' .. other) == 1 then existing = other end
  end
  if not existing and redis.call('EXISTS', P .. 'tmi:' .. id) == 1 then existing = id end
  if existing then
    out[#out + 1] = redis.call('HGETALL', P .. 'tmi:' .. existing)
  else
    local tk = P .. 'tmi:' .. id
    local due = now + math.max(0, tonumber(ARGV[i + 2]))
    redis.call('HSET', tk, 'id', id, 'kd', ARGV[i + 1], 'pl', ARGV[i + 7], 'due', due, 'ca', now)
    if key then
      redis.call('HSET', tk, 'k', key)
      redis.call('SET', P .. 'tmk:' .. key, id)
    end
    if taskId then
      redis.call('HSET', tk, 't', taskId)
      redis.call('SADD', P .. 'tmt:' .. taskId, id)
    end
    if phaseId then
      redis.call('HSET', tk, 'p', phaseId)
      redis.call('SADD', P .. 'tmp:' .. phaseId, id)
    end
    if name then redis.call('HSET', tk, 'n', name) end
    redis.call('ZADD', KEYS[1], due, id)
    out[#out + 1] = redis.call('HGETALL', tk)
  end
end
return out
