-- claim: leases up to `limit` of the best deliveries of the listed queues (see queue-lib).
-- KEYS[1] the meta hash (routing only)
-- ARGV[4] limit · ARGV[5] leaseMs · ARGV[6] waitMs · ARGV[7..] queue names
-- Reply: { {taskId, leaseId, ...}, wake ids aligned with the queues | false, ms until a delayed
--   delivery is due or a rate limit lets one through | -1 } (wake info only when nothing was claimed)
-- @include event-lib
-- @include queue-lib
local now = nowMs()
local queues = {}
for i = 7, #ARGV do queues[#queues + 1] = ARGV[i] end
local out = claimDeliveries(queues, tonumber(ARGV[4]), now + tonumber(ARGV[5]), now)
local wake, nextIn = false, -1
if #out == 0 then wake, nextIn = wakeInfo(queues, tonumber(ARGV[6]), now) end
flushQueues()
flushEvents()
return { out, wake, nextIn }
