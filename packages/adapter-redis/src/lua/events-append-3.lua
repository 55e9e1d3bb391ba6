-- events-append: appends one call's events as ONE stream entry (see event-lib).
-- KEYS[1] events stream · KEYS[2] seq counter · KEYS[3] floor (lowest seq still visible)
-- ARGV[1] cap on visible events · ARGV[2] number of events · ARGV[3] their `at`s, comma-separated
-- ARGV[4] the events as one JSON array
-- Reply: the last seq
-- @include event-lib
return appendEvents(KEYS[1], KEYS[2], KEYS[3], tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], ARGV[4])
