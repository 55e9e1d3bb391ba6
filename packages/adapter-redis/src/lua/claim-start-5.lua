-- claim-start: claim-4 and start-1 in one step — each claimed delivery's task moves pending →
-- running under the delivery's fresh leaseId. One round trip instead of two per claimed batch.
-- KEYS[1] stream · KEYS[2] deliveries hash · KEYS[3] delayed zset · KEYS[4] leases zset · KEYS[5] counts hash
-- ARGV[1] key prefix P · ARGV[2] group · ARGV[3] consumer · ARGV[4] limit · ARGV[5] leaseMs
-- ARGV[6] leaseId prefix (unique per call) · ARGV[7] workerId
-- Reply: { {taskId, leaseId, startReply, ...}, wakeFromId | false, msUntilNextDelayed | -1 }
--   startReply as in start-1.lua
-- @include helpers
-- @include claim-lib
-- @include task-lib
local P = ARGV[1]
local now = nowMs()
local claimed, drained = claimEntries(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[2], ARGV[3], tonumber(ARGV[4]), now, now + tonumber(ARGV[5]), ARGV[6])
local out = {}
for i = 1, #claimed, 2 do
  out[#out + 1] = claimed[i]
  out[#out + 1] = claimed[i + 1]
  out[#out + 1] = startTask(P, claimed[i], claimed[i + 1], ARGV[7], now)
end
flush(KEYS[5])
local wakeFrom, nextIn = false, -1
if #out == 0 and drained then wakeFrom, nextIn = wakeInfo(KEYS[1], KEYS[3], ARGV[2], now) end
return { out, wakeFrom, nextIn }
