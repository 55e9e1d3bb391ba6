-- usage: adds cost and tokens to a task running under leaseId. Sums are done in Lua doubles and
-- stored with 17 significant digits, so they match JavaScript addition exactly.
-- KEYS[1] task hash
-- ARGV[1] leaseId · ARGV[2] costUsd delta · ARGV[3] tokens delta
-- Reply: { costUsd, tokens } as strings, or false when the lease moved on
-- @include helpers
local tk = KEYS[1]
local cur = redis.call('HMGET', tk, 'st', 'l', 'uc', 'ut')
if cur[1] ~= 'running' or cur[2] ~= ARGV[1] then return false end
local cost = string.format('%.17g', tonumber(cur[3] or '0') + tonumber(ARGV[2]))
local tokens = string.format('%.17g', tonumber(cur[4] or '0') + tonumber(ARGV[3]))
redis.call('HSET', tk, 'uc', cost, 'ut', tokens, 'ua', nowMs())
return { cost, tokens }
