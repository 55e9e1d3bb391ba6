-- get-tasks: reads task hashes in one round trip.
-- KEYS[1] the meta hash (routing only)
-- ARGV[4..] taskIds
-- Reply: { now, per id its hash (flat; empty when unknown) }
local out = { nowMs() }
for i = 4, #ARGV do out[#out + 1] = redis.call('HGETALL', K_task(ARGV[i])) end
return out
