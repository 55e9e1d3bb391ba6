-- checkpoint-save: replaces the task's checkpoint and sets hasCheckpoint, only while the task is
-- running under leaseId (fenced so a worker that lost its lease cannot overwrite the new holder's).
-- KEYS[1] task hash · KEYS[2] checkpoint hash · KEYS[3] checkpoint stats hash
-- ARGV[1] leaseId · ARGV[2] token · ARGV[3] encoding · ARGV[4] body (bytes) · ARGV[5] sizeBytes
-- Reply: 1 saved / 0 lease moved on
-- @include helpers
local cur = redis.call('HMGET', KEYS[1], 'st', 'l')
if cur[1] ~= 'running' or cur[2] ~= ARGV[1] then return 0 end
local before = redis.call('HGET', KEYS[2], 'n')
local bytes = string.len(ARGV[4])
if before then
  redis.call('HINCRBY', KEYS[3], 'bytes', bytes - tonumber(before))
else
  redis.call('HINCRBY', KEYS[3], 'count', 1)
  redis.call('HINCRBY', KEYS[3], 'bytes', bytes)
end
redis.call('HSET', KEYS[2], 't', ARGV[2], 'e', ARGV[3], 'b', ARGV[4], 'z', ARGV[5], 'n', bytes, 'u', nowMs())
redis.call('HSET', KEYS[1], 'cp', 1)
return 1
