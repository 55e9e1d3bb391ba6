-- create: creates each task unless its idempotency key maps to a live task (or its id exists).
-- The key and the task are written together, so concurrent creates of one key make one task.
-- A delay ('' for none) also makes each created task deliverable in its queue in the same step
-- (TaskFlow.createAndEnqueue: no moment where a task exists undelivered); its events are
-- appended iff it was created.
-- KEYS[1] the meta hash (routing only)
-- ARGV[4..] 13 per task: id, type, idempotencyKey, keyTtlMs, queue, priority, group, runId, phaseId
--   ('' for null), the packed fields `x` (see task-lib), delayMs ('' to create only), the events'
--   `at`s (comma-separated), the events' JSON lines
-- Reply: flat taskId, duplicate (1/0), ...
-- @include event-lib
-- @include queue-lib
-- @include task-lib
local now = nowMs()
local n = (#ARGV - 3) / 13
local seq = redis.call('INCRBY', K.seq, n) - n
local out = {}
for i = 4, #ARGV, 13 do
  local id, key = ARGV[i], ARGV[i + 2]
  local dup = takeKey(key, id, ARGV[i + 3])
  if dup then
    out[#out + 1] = dup
    out[#out + 1] = 1
  else
    seq = seq + 1
    local q, g, runId, phaseId = ARGV[i + 4], ARGV[i + 6], nz(ARGV[i + 7]), nz(ARGV[i + 8])
    local f = newTaskFields(seq, ARGV[i + 1], key, q, ARGV[i + 9])
    if runId then
      add(f, 'ru', runId)
      push(ZADDS, K_run(runId), seq, id)
    end
    if phaseId then
      add(f, 'ph', phaseId)
      push(ZADDS, K_phase(phaseId), seq, id)
    end
    redis.call('HSET', K_task(id), unpack(f))
    push(ZADDS, K.active, seq, id)
    if ARGV[i + 10] ~= '' then enqueueOne(id, q, tonumber(ARGV[i + 5]), g, tonumber(ARGV[i + 10]), seq, now) end
    if ARGV[i + 12] ~= '' then addEventsFor(runId, phaseId, ARGV[i + 11], ARGV[i + 12]) end
    out[#out + 1] = id
    out[#out + 1] = 0
  end
end
flushIndexes()
flushQueues()
flushEvents()
return out
