-- purge-tasks: removes tasks of one finished state that finished before now − olderThanMs, or
-- beyond the newest keepLatest (by finish time), oldest first, at most `limit`, with their keys,
-- indexes and checkpoints.
-- KEYS[1] the meta hash (routing only)
-- ARGV[4] state · ARGV[5] olderThanMs · ARGV[6] keepLatest · ARGV[7] limit
-- Reply: how many tasks were removed
-- @include event-lib
-- @include task-lib
local byTime = K_finishedByTime(ARGV[4])
-- Both rules select a prefix in finish order, so their union is the longer prefix.
local excess = redis.call('ZCARD', byTime) - tonumber(ARGV[6])
local old = redis.call('ZCOUNT', byTime, '-inf', '(' .. (nowMs() - tonumber(ARGV[5])))
local n = math.min(math.max(excess, old), tonumber(ARGV[7]))
if n <= 0 then return 0 end
local ids = redis.call('ZRANGE', byTime, 0, n - 1)
for _, id in ipairs(ids) do
  push(ZREMS, byTime, id)
  removeTask(id)
end
flushIndexes()
return #ids
