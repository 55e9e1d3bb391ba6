-- start: moves each pending task to running under the given lease (startedAt = now).
-- KEYS[1] counts hash
-- ARGV[1] key prefix P · ARGV[2..] triples: taskId, leaseId, workerId
-- Reply: per claim, when started: { now, x, a, rc, uc, ut, cp, e } (values; see task-codec.ts),
--   else the task's state, else 0 (unknown id)
-- @include helpers
-- @include task-lib
local P = ARGV[1]
local now = nowMs()
local out = {}
for i = 2, #ARGV, 3 do out[#out + 1] = startTask(P, ARGV[i], ARGV[i + 1], ARGV[i + 2], now) end
flush(KEYS[1])
return out
