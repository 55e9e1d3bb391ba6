-- events-append: appends one call's events as ONE stream entry (see event-lib), each with its
-- own runId and phaseId.
-- KEYS[1] the meta hash (routing only)
-- ARGV[4] number of events · ARGV[5] their `at`s, comma-separated · ARGV[6] their JSON, one per line
-- Reply: the last seq
-- @include event-lib
return appendEvents(tonumber(ARGV[4]), ARGV[5], ARGV[6])
