-- create: creates each task unless its idempotency key (or its id) maps to a live task. The key and
-- the task hash are written together, so concurrent creates of one key make exactly one task.
-- With a group in ARGV[2], each task it creates is also made deliverable (after its delay) in the
-- same step: create and enqueue in one round trip, with no moment where a task exists undelivered.
-- A task's event (its JSON, when given) is appended iff the task was created, in the same step.
-- KEYS[1] creation-seq counter · KEYS[2] counts hash · KEYS[3] queue stream · KEYS[4] deliveries hash
-- KEYS[5] delayed zset · KEYS[6] events stream · KEYS[7] event seq counter · KEYS[8] event floor
-- ARGV[1] key prefix P · ARGV[2] consumer group, or '' to create only · ARGV[3] cap on visible events
-- ARGV[4..] 10 per task: id, type, idempotencyKey, keyTtlMs, runId?, phaseId? (? = '' for null,
--   '=' .. value otherwise), x without its head: `type,key,…,input]` (the script prepends
--   `[createdAt,`), delayMs, event JSON object ('' for none), event at
-- Reply: flat array taskId, duplicate (1/0), ...
-- @include helpers
-- @include event-lib
local P = ARGV[1]
local group = ARGV[2]
local now = nowMs()
local n = (#ARGV - 3) / 10
local seq = redis.call('INCRBY', KEYS[1], n) - n
if group ~= '' and redis.call('EXISTS', KEYS[3]) == 0 then
  redis.call('XGROUP', 'CREATE', KEYS[3], group, '0', 'MKSTREAM')
end
local out = {}
for i = 4, #ARGV, 10 do
  local id = ARGV[i]
  local keyKey = P .. 'k:' .. ARGV[i + 2]
  local tk = P .. 't:' .. id
  local dup = nil
  if not redis.call('SET', keyKey, id, 'NX', 'PX', ARGV[i + 3]) then
    local existing = redis.call('GET', keyKey)
    if existing and redis.call('EXISTS', P .. 't:' .. existing) == 1 then
      dup = existing
    else
      -- The key's task was purged: the new task takes the key over.
      redis.call('SET', keyKey, id, 'PX', ARGV[i + 3])
    end
  end
  if not dup and redis.call('EXISTS', tk) == 1 then dup = id end
  if dup then
    out[#out + 1] = dup
    out[#out + 1] = 1
  else
    seq = seq + 1
    local runId, phaseId = opt(ARGV[i + 4]), opt(ARGV[i + 5])
    -- Hot fields first: small hashes are scanned linearly.
    redis.call('HSET', tk, 'st', 'pending', 'sq', seq, 'ua', now, 'x', '[' .. now .. ',' .. ARGV[i + 6],
      'ty', ARGV[i + 1], 'k', ARGV[i + 2], 'id', id)
    if runId then
      redis.call('HSET', tk, 'ru', runId)
      append(ZADDS, P .. 'run:' .. runId, seq, id)
    end
    if phaseId then
      redis.call('HSET', tk, 'ph', phaseId)
      append(ZADDS, P .. 'ph:' .. phaseId, seq, id)
    end
    append(ZADDS, P .. 's:active', seq, id)
    count('pending', phaseId, 1)
    if group ~= '' then
      -- HSETNX keeps "at most one live delivery per task" even for an id enqueued before it existed.
      local delay = tonumber(ARGV[i + 7])
      if delay > 0 then
        if redis.call('HSETNX', KEYS[4], id, 'd') == 1 then append(ZADDS, KEYS[5], now + delay, id) end
      else
        local sid = redis.call('XADD', KEYS[3], '*', 't', id)
        if redis.call('HSETNX', KEYS[4], id, 'r' .. sid) == 0 then redis.call('XDEL', KEYS[3], sid) end
      end
    end
    if ARGV[i + 8] ~= '' then collectEvents(1, ARGV[i + 9], ARGV[i + 8]) end
    out[#out + 1] = id
    out[#out + 1] = 0
  end
end
flush(KEYS[2])
flushEvents(KEYS[6], KEYS[7], KEYS[8], tonumber(ARGV[3]))
return out
