-- checkpoint-save: replaces the task's checkpoint and sets hasCheckpoint (updatedAt stays), only
-- while the task runs under leaseId, appending its events in the same step.
-- KEYS[1] the meta hash (routing only)
-- ARGV[4] taskId · ARGV[5] leaseId · ARGV[6] token · ARGV[7] encoding · ARGV[8] body (bytes)
-- ARGV[9] sizeBytes · ARGV[10] events' `at`s · ARGV[11] events' JSON lines
-- Reply: 1 saved / 0 lease moved on
-- @include event-lib
-- @include task-lib
local id = ARGV[4]
local cur = holding(id, ARGV[5])
if not cur then return 0 end
local ck = K_checkpoint(id)
local before = redis.call('HGET', ck, 'n')
local bytes = string.len(ARGV[8])
if before then
  redis.call('HINCRBY', K.checkpointStats, 'bytes', bytes - tonumber(before))
else
  redis.call('HINCRBY', K.checkpointStats, 'count', 1)
  redis.call('HINCRBY', K.checkpointStats, 'bytes', bytes)
end
redis.call('HSET', ck, 't', ARGV[6], 'e', ARGV[7], 'b', ARGV[8], 'z', ARGV[9], 'n', bytes, 'u', nowMs())
redis.call('HSET', K_task(id), 'cp', 1)
addEventsFor(nz(cur[3]), nz(cur[4]), ARGV[10], ARGV[11])
flushEvents()
return 1
