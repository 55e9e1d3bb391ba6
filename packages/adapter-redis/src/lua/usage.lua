-- usage: adds cost and tokens to a task running under leaseId (updatedAt stays). Sums are Lua
-- doubles stored with 17 significant digits, so they match JavaScript addition exactly.
-- KEYS[1] the meta hash (routing only)
-- ARGV[4] taskId · ARGV[5] leaseId · ARGV[6] costUsd delta · ARGV[7] tokens delta
-- Reply: { costUsd, tokens } as strings, or false when the lease moved on
local tk = K_task(ARGV[4])
local cur = redis.call('HMGET', tk, 'st', 'l', 'uc', 'ut')
if cur[1] ~= 'running' or cur[2] ~= ARGV[5] then return false end
local cost = string.format('%.17g', tonumber(nz(cur[3]) or '0') + tonumber(ARGV[6]))
local tokens = string.format('%.17g', tonumber(nz(cur[4]) or '0') + tonumber(ARGV[7]))
redis.call('HSET', tk, 'uc', cost, 'ut', tokens)
return { cost, tokens }
