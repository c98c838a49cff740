package workqueue

import "github.com/redis/go-redis/v9"

// The scripts make each change of state one atomic step, so that a crash or
// a lost connection between two commands cannot leave an event half stored,
// acknowledged without its dead letter, or deduplicated without its entry.
// They use only commands miniredis implements.

// publishScript appends a batch of events, each unless its event_id is
// remembered: one script call for many events, so that Redis pays the cost
// of a script call once per batch, not once per event. Within the batch the
// events are handled in order, so a repeated event_id is added once.
//
// Each event costs two commands: SET NX both checks and writes the dedup
// record, then XADD appends the entry. A failed XADD (a key of the wrong
// type) deletes the record again within the same script, so that it never
// swallows Slack's retry, and fails that event only (redis.pcall), as it
// would alone. The length guard runs once per stream per batch, after its
// appends: XTRIM MAXLEN ~ returns how many entries it dropped.
//
// KEYS[2i-1] is the stream of event i, KEYS[2i] its dedup key, or its stream
// key again when it has no event_id (then it is not deduplicated).
// ARGV[1] max length, ARGV[2] dedup TTL in ms, ARGV[2i+1] event_id of event
// i ("" for none), ARGV[2i+2] its body.
//
// Returns {results, trims}: results[i] is 1 when event i was added, 0 for a
// duplicate, or the error of its XADD; trims lists {i, n} pairs: the length
// guard dropped n entries of the stream of event i, the last one added to it.
var publishScript = redis.NewScript(publishSrc)

const publishSrc = `
local results, last = {}, {}
for i = 1, #KEYS / 2 do
	local stream, dedup, id = KEYS[2*i-1], KEYS[2*i], ARGV[2*i+1]
	if id ~= '' and not redis.call('SET', dedup, '1', 'NX', 'PX', ARGV[2]) then
		results[i] = 0
	else
		local r = redis.pcall('XADD', stream, '*', 'id', id, 'body', ARGV[2*i+2])
		if type(r) == 'table' and r.err then
			if id ~= '' then
				redis.call('DEL', dedup)
			end
			results[i] = r
		else
			last[stream] = i
			results[i] = 1
		end
	end
end
local trims = {}
for stream, i in pairs(last) do
	local gone = redis.call('XTRIM', stream, 'MAXLEN', '~', ARGV[1])
	if gone > 0 then
		trims[#trims + 1] = i
		trims[#trims + 1] = gone
	end
end
return {results, trims}
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
// entry write one dead letter, nor when another consumer has taken it over
// (that one runs it now, and decides its fate). It writes the dead letter
// before it acknowledges: Redis does not undo a script's writes before an
// error, so a dead letter that cannot be written (a key of the wrong type)
// must leave the entry pending, not acknowledged with no dead letter.
//
// Run again after its reply was lost (go-redis sends it again when the
// connection drops), it finds the entry no longer pending, and the dead
// letter this consumer wrote for it among the newest (deadLetterLookBack):
// it reports the entry moved, so that it is counted and logged once, as
// moved.
//
// KEYS[1] stream, KEYS[2] dead-letter stream. ARGV[1] group, ARGV[2] entry
// ID, ARGV[3] max length of the dead-letter stream, ARGV[4] this consumer,
// ARGV[5...] the dead letter's fields, "kind" and "consumer" among them.
// Returns {1, "", trimmed} when moved (trimmed: old dead letters the length
// guard dropped), {0, "", 0} when not pending, {0, owner, 0} when taken.
var deadLetterScript = redis.NewScript(`
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)
if not p[1] then
	local want = {}
	for i = 5, #ARGV - 1, 2 do
		want[ARGV[i]] = ARGV[i + 1]
	end
	for _, d in ipairs(redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', ` + deadLetterLookBack + `)) do
		local f = {}
		for i = 1, #d[2], 2 do
			f[d[2][i]] = d[2][i + 1]
		end
		if f['entry'] == ARGV[2] and f['kind'] == want['kind'] and f['consumer'] == ARGV[4] then
			return {1, '', 0}
		end
	end
	return {0, '', 0}
end
if p[1][2] ~= ARGV[4] then
	return {0, p[1][2], 0}
end
redis.call('XADD', KEYS[2], '*', unpack(ARGV, 5))
local trimmed = redis.call('XTRIM', KEYS[2], 'MAXLEN', '~', ARGV[3])
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
return {1, '', trimmed}
`)

// deadLetterLookBack is how many of the newest dead letters deadLetterScript
// looks through for the one it wrote before its reply was lost. go-redis
// sends a script again within milliseconds; dead letters are rare.
const deadLetterLookBack = "32"

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

// ownClaimScript touches an entry pending under this consumer (restarts its
// idle clock, so that no other consumer reclaims it) or claims it back for a
// retry (the same, counting a delivery), but only if it is still pending
// here: a bare XCLAIM would take an entry another live consumer has
// reclaimed and is running, and two consumers would run it at once. It
// checks that the entry is still in the stream first: Redis 7's XCLAIM would
// silently drop a deleted one from the pending list, and miniredis would
// keep it until a sweep; here it is acknowledged and reported, to be counted
// as vanished.
// The delivery count is set explicitly (RETRYCOUNT), because miniredis
// counts a delivery even for JUSTID. It is set to the count the caller
// expects rather than moved by one, so that the script run again (go-redis
// sends it again when the connection drops before the reply) changes
// nothing more: a lost reply must not count a delivery twice.
//
// KEYS[1] stream. ARGV[1] group, ARGV[2] consumer, ARGV[3] entry ID, ARGV[4]
// "claim" to count the delivery of a retry, "uncount" to take back the
// delivery being run (ErrNotAttempted, or a run the drain cut off),
// anything else to touch; ARGV[5], for claim and uncount, the count after
// it: the attempt of the retry for claim, at least; the attempt before the
// one taken back for uncount, at most. An uncount leaves the idle clock as
// it was: nobody runs the entry, and another consumer may take it over as
// soon as it could have before.
// Returns {"ok", deliveries, {field, value, ...}}, {"gone"} when it is no
// longer pending, {"taken", owner} when another consumer holds it, or
// {"vanished"} when it was deleted from the stream (now acknowledged).
var ownClaimScript = redis.NewScript(`
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)
if not p[1] then
	return {'gone'}
end
if p[1][2] ~= ARGV[2] then
	return {'taken', p[1][2]}
end
local e = redis.call('XRANGE', KEYS[1], ARGV[3], ARGV[3])
if #e == 0 then
	redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
	return {'vanished'}
end
local n, idle = p[1][4], 0
if ARGV[4] == 'claim' then
	n = math.max(n, tonumber(ARGV[5]))
elseif ARGV[4] == 'uncount' then
	n = math.max(math.min(n, tonumber(ARGV[5])), 0)
	idle = p[1][3]
end
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[3], 'IDLE', idle, 'RETRYCOUNT', n, 'JUSTID')
return {'ok', n, e[1][2]}
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

// pruneScript removes from the group the consumers that have no pending
// entries and have been idle longer than the expiry, except the caller.
// Checking and removing in one script means an entry cannot be delivered to
// a consumer between the check and its removal (XGROUP DELCONSUMER would
// drop its pending entries).
//
// KEYS[1] stream. ARGV[1] group, ARGV[2] min idle ms, ARGV[3] the caller's
// consumer name. Returns the names removed.
var pruneScript = redis.NewScript(`
local removed = {}
local min = tonumber(ARGV[2])
for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
	local f = {}
	for i = 1, #c, 2 do
		f[c[i]] = c[i + 1]
	end
	if f['name'] ~= ARGV[3] and f['pending'] == 0 and f['idle'] > min then
		redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], f['name'])
		removed[#removed + 1] = f['name']
	end
end
return removed
`)

// requeueScript moves a dead letter back to its stream as a new entry.
//
// KEYS[1] dead-letter stream, KEYS[2] the stream of its kind. ARGV[1] dead
// letter ID, ARGV[2] its kind (as read before: it must not have changed),
// ARGV[3] max length of the stream. Returns {new entry ID, entries the
// length guard dropped}, or nil when the dead letter is gone.
var requeueScript = redis.NewScript(`
local e = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
if #e == 0 then
	return false
end
local f = {}
local kv = e[1][2]
for i = 1, #kv, 2 do
	f[kv[i]] = kv[i + 1]
end
if f['kind'] ~= ARGV[2] or not f['body'] then
	return redis.error_reply('dead letter ' .. ARGV[1] .. ' is not what was read')
end
local id = redis.call('XADD', KEYS[2], '*', 'id', f['id'] or '', 'body', f['body'])
local gone = redis.call('XTRIM', KEYS[2], 'MAXLEN', '~', ARGV[3])
redis.call('XDEL', KEYS[1], ARGV[1])
return {id, gone}
`)

// liveScript writes or refreshes the liveness record of one Consume call:
// a member of the sorted set of the records under its consumer name, named
// by the call's random token and scored with when it lapses, by Redis's
// clock (TIME). Lapsed records are dropped first. Scoring by Redis's clock
// rather than giving each record a key with a TTL lets a record lapse on
// time also where TTLs do not count down by themselves (miniredis, unless
// told to), and keeps every Consume call under a name visible at once,
// also one that is still waiting for an earlier one to go. The set's own
// TTL only keeps a set that nobody refreshes from staying for ever. Run
// again after its reply was lost, it changes nothing more.
//
// KEYS[1] the records. ARGV[1] the call's token, ARGV[2] the TTL in ms.
// Returns {how many other records are live, 1 when this call's record was
// live before this refresh or 0}.
var liveScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local was = 0
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
	was = 1
end
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
if redis.call('PTTL', KEYS[1]) < ttl then
	redis.call('PEXPIRE', KEYS[1], ttl)
end
return {redis.call('ZCARD', KEYS[1]) - 1, was}
`)
