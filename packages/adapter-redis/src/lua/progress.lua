-- progress: stores the progress of a task running under leaseId (updatedAt stays), with its events.
-- KEYS[1] the meta hash (routing only)
-- ARGV[4] taskId · ARGV[5] leaseId · ARGV[6] progress JSON · ARGV[7] events' `at`s · ARGV[8] events' JSON lines
-- Reply: 1 stored / 0 lease moved on
-- @include event-lib
-- @include task-lib
local cur = holding(ARGV[4], ARGV[5])
if not cur then return 0 end
redis.call('HSET', K_task(ARGV[4]), 'p', ARGV[6])
addEventsFor(nz(cur[3]), nz(cur[4]), ARGV[7], ARGV[8])
flushEvents()
return 1
