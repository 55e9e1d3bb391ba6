-- create: creates each task unless its idempotency key (or its id) maps to a live task. The key and
-- the task hash are written together, so concurrent creates of one key make exactly one task.
-- KEYS[1] creation-seq counter · KEYS[2] counts hash
-- ARGV[1] key prefix P · ARGV[2..] 9 per task: id, type, inputJson, idempotencyKey, keyTtlMs,
--   runId?, phaseId?, maxRetries, budgetJson?   (? = '' for null, '=' .. value otherwise)
-- Reply: flat array taskId, duplicate (1/0), ...
-- @include helpers
local P = ARGV[1]
local now = nowMs()
local out = {}
for i = 2, #ARGV, 9 do
  local id = ARGV[i]
  local keyKey = P .. 'k:' .. ARGV[i + 3]
  local existing = redis.call('GET', keyKey)
  if existing and redis.call('EXISTS', P .. 't:' .. existing) == 1 then
    out[#out + 1] = existing
    out[#out + 1] = 1
  elseif redis.call('EXISTS', P .. 't:' .. id) == 1 then
    out[#out + 1] = id
    out[#out + 1] = 1
  else
    -- A key whose task was purged is taken over by the new task.
    redis.call('SET', keyKey, id, 'PX', ARGV[i + 4])
    local seq = redis.call('INCR', KEYS[1])
    local runId, phaseId, budget = opt(ARGV[i + 5]), opt(ARGV[i + 6]), opt(ARGV[i + 8])
    local tk = P .. 't:' .. id
    redis.call('HSET', tk, 'id', id, 'ty', ARGV[i + 1], 'in', ARGV[i + 2], 'st', 'pending', 'k', ARGV[i + 3],
      'a', 0, 'mr', ARGV[i + 7], 'rc', 0, 'uc', '0', 'ut', '0', 'cp', 0, 'ca', now, 'ua', now, 'sq', seq)
    if runId then
      redis.call('HSET', tk, 'ru', runId)
      redis.call('ZADD', P .. 'run:' .. runId, seq, id)
    end
    if phaseId then
      redis.call('HSET', tk, 'ph', phaseId)
      redis.call('ZADD', P .. 'ph:' .. phaseId, seq, id)
    end
    if budget then redis.call('HSET', tk, 'b', budget) end
    redis.call('ZADD', P .. 's:pending', seq, id)
    bump(KEYS[2], 'pending', phaseId, 1)
    out[#out + 1] = id
    out[#out + 1] = 0
  end
end
return out
