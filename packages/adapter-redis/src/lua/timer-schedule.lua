-- timer-schedule: stores each timer due at now + delayMs (Redis clock), or returns the pending
-- timer that already holds its key (or its id).
-- KEYS[1] the meta hash (routing only)
-- ARGV[4..] 8 per timer: id, kind, delayMs, key?, taskId?, phaseId?, name? ('' null, '=' .. value), payload JSON
-- Reply: per timer its hash (flat)
-- @include timer-lib
local now = nowMs()
local out = {}
for i = 4, #ARGV, 8 do
  local id = ARGV[i]
  local key, taskId, phaseId, name = opt(ARGV[i + 3]), opt(ARGV[i + 4]), opt(ARGV[i + 5]), opt(ARGV[i + 6])
  local existing = nil
  if key then
    local other = redis.call('GET', K_timerKey(key))
    if other and redis.call('EXISTS', K_timer(other)) == 1 then existing = other end
  end
  if not existing and redis.call('EXISTS', K_timer(id)) == 1 then existing = id end
  if existing then
    out[#out + 1] = redis.call('HGETALL', K_timer(existing))
  else
    local tk = K_timer(id)
    local due = now + math.max(0, tonumber(ARGV[i + 2]))
    local f = { 'id', id, 'kd', ARGV[i + 1], 'pl', ARGV[i + 7], 'due', due, 'ca', now }
    if key then
      f[#f + 1] = 'k'; f[#f + 1] = key
      redis.call('SET', K_timerKey(key), id)
    end
    if taskId then
      f[#f + 1] = 't'; f[#f + 1] = taskId
      redis.call('SADD', K_timerTask(taskId), id)
    end
    if phaseId then
      f[#f + 1] = 'p'; f[#f + 1] = phaseId
      redis.call('SADD', K_timerPhase(phaseId), id)
    end
    if name then f[#f + 1] = 'n'; f[#f + 1] = name end
    redis.call('HSET', tk, unpack(f))
    redis.call('ZADD', K.timersDue, due, id)
    out[#out + 1] = f
  end
end
return out
