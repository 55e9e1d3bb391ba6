-- coord-write: compare-and-set of one key: writes iff its current version is `expected` ('' for
-- a key that must not exist). Every write increments the version.
-- KEYS[1] the meta hash (routing only)
-- ARGV[4] key · ARGV[5] JSON · ARGV[6] expected version ('' for none)
-- Reply: the new version, or false when another writer got there first
local cur = redis.call('HGET', K.coordination, ARGV[4])
local version = cur and tonumber(string.match(cur, '^(%d+)\t')) or nil
if ARGV[6] == '' then
  if cur then return false end
elseif version == nil or version ~= tonumber(ARGV[6]) then
  return false
end
local next = (version or 0) + 1
redis.call('HSET', K.coordination, ARGV[4], next .. '\t' .. ARGV[5])
if not cur then redis.call('ZADD', K.coordinationKeys, 0, ARGV[4]) end
return next
