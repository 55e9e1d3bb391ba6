-- claim: promotes due delayed deliveries, reads up to `limit` new stream entries for this consumer
-- and leases each under a fresh leaseId with its expiry (Redis clock) in the lease zset, atomically.
-- KEYS[1] stream · KEYS[2] deliveries hash · KEYS[3] delayed zset · KEYS[4] leases zset (taskId → expiry ms)
-- ARGV[1] group · ARGV[2] consumer · ARGV[3] limit · ARGV[4] leaseMs · ARGV[5] leaseId prefix (unique per call)
-- Reply: { {taskId, leaseId, ...}, wakeFromId | false, msUntilNextDelayed | -1 }
--   wakeFromId is set when nothing was claimed: a blocking XREAD from it wakes on the next new entry.
-- @include helpers
-- @include claim-lib
local now = nowMs()
local out, drained = claimEntries(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[1], ARGV[2], tonumber(ARGV[3]), now, now + tonumber(ARGV[4]), ARGV[5])
local wakeFrom, nextIn = false, -1
if #out == 0 and drained then wakeFrom, nextIn = wakeInfo(KEYS[1], KEYS[3], ARGV[1], now) end
return { out, wakeFrom, nextIn }
