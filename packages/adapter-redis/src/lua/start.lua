-- start: transitions.start of each pending task under the given lease; with startedEvents,
-- appends transitions.startedEvent of each task it started.
-- KEYS[1] the meta hash (routing only)
-- ARGV[4] '1' to append task.started · ARGV[5..] triples: taskId, leaseId, workerId
-- Reply: { now, then per claim: the started task's hash before the start (flat), else its state
--   ('running\t<leaseId>' when running), else 0 (unknown id) }
-- @include event-lib
-- @include task-lib
local claims = {}
for i = 5, #ARGV do claims[#claims + 1] = ARGV[i] end
local now = nowMs()
local out = startAll(claims, ARGV[4] == '1', NOW_TEXT)
flushEvents()
table.insert(out, 1, now)
return out
