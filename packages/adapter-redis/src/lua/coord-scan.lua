-- coord-scan: every key starting with the prefix, literally (a lexicographic range of the key
-- zset: no pattern characters), in key order, at most 1000, with version and JSON.
-- KEYS[1] the meta hash (routing only)
-- ARGV[4] prefix
-- Reply: flat key, `<version>\t<json>`, ...
local keys = redis.call('ZRANGEBYLEX', K.coordinationKeys, '[' .. ARGV[4], '(' .. ARGV[4] .. '\255', 'LIMIT', 0, 1000)
local out = {}
for _, k in ipairs(keys) do
  local v = redis.call('HGET', K.coordination, k)
  if v then
    out[#out + 1] = k
    out[#out + 1] = v
  end
end
return out
