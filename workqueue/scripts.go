package workqueue

import "github.com/redis/go-redis/v9"

// The scripts make each change of state one atomic step, so that a crash or
// a lost connection between two commands cannot leave an event half stored,
// acknowledged without its dead letter, or deduplicated without its entry.
// They use only commands miniredis implements.

// publishScript appends an event unless its event_id is remembered.
// The dedup record is written after XADD so that a failed XADD never leaves a
// record behind that would swallow Slack's retry.
//
// KEYS[1] stream, KEYS[2] dedup key (absent: no dedup).
// ARGV[1] max length, ARGV[2] dedup TTL in ms, ARGV[3] event ID, ARGV[4] body.
// Returns {1, trimmed} when added, {0, 0} for a duplicate.
var publishScript = redis.NewScript(publishSrc)

const publishSrc = `
if KEYS[2] and redis.call('EXISTS', KEYS[2]) == 1 then
	return {0, 0}
end
local before = redis.call('XLEN', KEYS[1])
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'id', ARGV[3], 'body', ARGV[4])
local trimmed = 0
if before >= tonumber(ARGV[1]) then
	trimmed = before + 1 - redis.call('XLEN', KEYS[1])
end
if KEYS[2] then
	redis.call('SET', KEYS[2], '1', 'PX', ARGV[2])
end
return {1, trimmed}
`

// ackScript acknowledges an entry and deletes it, so that the stream holds
// only unfinished entries (see the package doc on trimming).
//
// KEYS[1] stream. ARGV[1] group, ARGV[2] entry ID. Returns XACK's count.
var ackScript = redis.NewScript(`
local n = redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
return n
`)

// deadLetterScript moves an entry to the dead-letter stream. It does nothing
// when the entry is no longer pending, so that two consumers racing on one
// entry write one dead letter.
//
// KEYS[1] stream, KEYS[2] dead-letter stream. ARGV[1] group, ARGV[2] entry
// ID, ARGV[3] max length of the dead-letter stream, ARGV[4...] its fields.
// Returns 1 when moved.
var deadLetterScript = redis.NewScript(`
local n = redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
if n == 0 then
	return 0
end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', unpack(ARGV, 4))
redis.call('XDEL', KEYS[1], ARGV[2])
return 1
`)

// claimScript takes over entries idle longer than the claim time, with their
// delivery counts (XAUTOCLAIM does not return them, and a consumer needs them
// to stop a poison entry that crashes every consumer taking it).
//
// KEYS[1] stream. ARGV[1] group, ARGV[2] consumer, ARGV[3] min idle ms,
// ARGV[4] cursor, ARGV[5] count.
// Returns {next cursor, number of vanished IDs, {{id, deliveries, {field, value, ...}}, ...}}.
// Redis 7 drops entries deleted while pending from the list itself and
// returns their IDs third.
var claimScript = redis.NewScript(`
local r = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4], 'COUNT', ARGV[5])
local out = {}
for _, e in ipairs(r[2]) do
	if e then
		local p = redis.call('XPENDING', KEYS[1], ARGV[1], e[1], e[1], 1)
		local n = 0
		if p[1] then n = p[1][4] end
		out[#out + 1] = {e[1], n, e[2] or {}}
	end
end
local gone = 0
if type(r[3]) == 'table' then gone = #r[3] end
return {r[1], gone, out}
`)

// sweepScript acknowledges pending entries that no longer exist in the
// stream and that are idle longer than the claim time: those XAUTOCLAIM
// neither claims nor drops (miniredis skips them without removing them).
//
// KEYS[1] stream. ARGV[1] group, ARGV[2] min idle ms, ARGV[3] count.
// Returns how many it acknowledged.
var sweepScript = redis.NewScript(`
local p = redis.call('XPENDING', KEYS[1], ARGV[1], 'IDLE', ARGV[2], '-', '+', ARGV[3])
local n = 0
for _, e in ipairs(p) do
	if #redis.call('XRANGE', KEYS[1], e[1], e[1]) == 0 then
		redis.call('XACK', KEYS[1], ARGV[1], e[1])
		n = n + 1
	end
end
return n
`)
