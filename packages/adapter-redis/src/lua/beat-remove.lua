-- beat-remove: forgets the ids.
-- KEYS[1] the meta hash (routing only)
-- ARGV[4..] ids
-- Reply: how many ids had a live entry
local n = 0
for i = 4, #ARGV do
  n = n + redis.call('DEL', K_beat(ARGV[i]))
  redis.call('ZREM', K.beats, ARGV[i])
  redis.call('ZREM', K.beatExpiries, ARGV[i])
end
return n
