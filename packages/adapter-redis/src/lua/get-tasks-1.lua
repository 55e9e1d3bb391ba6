-- get-tasks: reads several task hashes in one round trip.
-- KEYS[1] counts hash (routing only: puts the script on the prefix's Cluster slot)
-- ARGV[1] key prefix P · ARGV[2..] taskIds
-- Reply: per id the task hash as a flat field/value array (empty when unknown)
local out = {}
for i = 2, #ARGV do out[#out + 1] = redis.call('HGETALL', ARGV[1] .. 't:' .. ARGV[i]) end
return out
