-- create-one: create.lua for its commonest call — enqueue() of one task delivered now, with no
-- group, run or phase — through the same helpers, minus the batch's buffering (one task makes
-- each index write a single call anyway) and with its events' JSON complete from the caller
-- (no run or phase to take from the record). Same writes, same events, same reply.
-- KEYS[1] the meta hash (routing only)
-- ARGV[4..] id, type, idempotencyKey, keyTtlMs, queue, priority, the packed fields `x` (see
--   task-lib), the number of events, their `at`s (comma-separated), their JSON lines
-- Reply: taskId, duplicate (1/0)
-- @include event-lib
-- @include queue-lib
-- @include task-lib
local now = nowMs()
local id, key, q = ARGV[4], ARGV[6], ARGV[8]
local dup = takeKey(key, id, ARGV[7])
if dup then return { dup, 1 } end
local seq = redis.call('INCRBY', K.seq, 1)
redis.call('HSET', K_task(id), unpack(newTaskFields(seq, ARGV[5], key, q, ARGV[10])))
redis.call('ZADD', K.active, seq, id)
if enqueueReady(id, q, tonumber(ARGV[9]), seq, now) then wakeQueue(q) end
local events = tonumber(ARGV[11])
if events > 0 then appendEvents(events, ARGV[12], ARGV[13]) end
return { id, 0 }
