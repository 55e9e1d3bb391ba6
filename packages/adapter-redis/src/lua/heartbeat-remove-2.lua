-- heartbeat-remove: forgets the ids.
-- KEYS[1] beats zset · KEYS[2] expiries zset
-- ARGV[1] key prefix P · ARGV[2..] ids
-- Reply: number of ids that had a live entry
local n = 0
for i = 2, #ARGV do
  n = n + redis.call('DEL', ARGV[1] .. 'hb:' .. ARGV[i])
  redis.call('ZREM', KEYS[1], ARGV[i])
  redis.call('ZREM', KEYS[2], ARGV[i])
end
return n
