-- depth: ready = stream entries (the stream holds only unclaimed ones) + delayed ones already due;
-- leased = lease zset size; delayed = not yet due.
-- KEYS[1] stream · KEYS[2] delayed zset · KEYS[3] leases zset
-- ARGV: none
-- Reply: { ready, leased, delayed }
-- @include helpers
local now = nowMs()
local dueDelayed = redis.call('ZCOUNT', KEYS[2], '-inf', now)
local delayed = redis.call('ZCARD', KEYS[2]) - dueDelayed
return { redis.call('XLEN', KEYS[1]) + dueDelayed, redis.call('ZCARD', KEYS[3]), delayed }
