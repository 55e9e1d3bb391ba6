-- finish: applies each outcome only if the task is running under leaseId, clearing the lease.
-- KEYS[1] counts hash
-- ARGV[1] key prefix P · ARGV[2..] 6 per outcome: taskId, leaseId, state, resultJson?, errorJson?, durationMs?
-- Reply: array of 1 (applied) / 0 (lease moved on)
-- @include helpers
-- @include task-lib
local P = ARGV[1]
local now = nowMs()
local out = {}
for i = 2, #ARGV, 6 do
  local ok = finishTask(P, ARGV[i], ARGV[i + 1], ARGV[i + 2], opt(ARGV[i + 3]), opt(ARGV[i + 4]), opt(ARGV[i + 5]), now)
  out[#out + 1] = ok and 1 or 0
end
flush(KEYS[1])
return out
