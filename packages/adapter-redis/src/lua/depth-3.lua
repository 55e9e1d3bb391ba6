-- depth: ready = stream entries not leased + delayed ones already due; leased; delayed (not yet due).
-- KEYS[1] stream · KEYS[2] delayed zset · KEYS[3] leases zset
-- ARGV: none
-- Reply: { ready, leased, delayed }
-- @include helpers
local now = nowMs()
local leased = redis.call('ZCARD', KEYS[3])
local inStream = redis.call('XLEN', KEYS[1])
local dueDelayed = redis.call('ZCOUNT', KEYS[2], '-inf', now)
local delayed = redis.call('ZCARD', KEYS[2]) - dueDelayed
return { math.max(0, inStream - leased) + dueDelayed, leased, delayed }
