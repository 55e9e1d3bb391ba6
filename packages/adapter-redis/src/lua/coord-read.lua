-- coord-read: the current version and JSON of each key.
-- KEYS[1] the meta hash (routing only)
-- ARGV[4..] keys
-- Reply: per key its stored `<version>\t<json>`, or false
local out = {}
for i = 4, #ARGV do out[#out + 1] = redis.call('HGET', K.coordination, ARGV[i]) or false end
return out
