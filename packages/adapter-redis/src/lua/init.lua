-- init: claims the prefix for this layout version, or reports what holds it.
-- KEYS[1] the meta hash
-- ARGV[4] the layout version of this code
-- Reply: { stored version or false, type of the meta key }
local kind = redis.call('TYPE', K.meta)['ok']
if kind ~= 'none' and kind ~= 'hash' then return { false, kind } end
redis.call('HSETNX', K.meta, 'version', ARGV[4])
return { redis.call('HGET', K.meta, 'version'), 'hash' }
