/**
 * The Redis limiter's one Lua script: check-and-consume (op 'reserve') or settle
 * (op 'settle') across every scope of a request atomically, so any number of boxes
 * share one limit exactly. It is bucket.ts's algorithm line for line; keep the two in
 * step (test/integration/limits-redis.test.ts compares them).
 *
 * KEYS: per scope i, KEYS[2i-1] = state hash {rl,rt,tl,tt,sp,pd}, KEYS[2i] = zset of
 *       in-flight reservation ids scored by lease expiry.
 * ARGV: 1 op, 2 now ms ('' = Redis TIME, the one clock all boxes share), 3 reservation
 *       id, 4 lease ms, 5 reserved tokens, 6 reserved cost, 7 reserve-time clock,
 *       8 actual tokens, 9 actual cost, then per scope 5 values from 10:
 *       requestsPerMinute, tokensPerMinute, concurrent, costBudget, budgetPeriodMs.
 * Returns {1, now} on success, {0, code, reason, retryAfterMs or -1, scope index}.
 */
export const QUOTA_LUA = `
local op = ARGV[1]
local now
if ARGV[2] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
else
  now = tonumber(ARGV[2])
end
local id = ARGV[3]
local lease = tonumber(ARGV[4])
local tokens = tonumber(ARGV[5])
local cost = tonumber(ARGV[6])
local at = tonumber(ARGV[7])
local atok = tonumber(ARGV[8])
local acost = tonumber(ARGV[9])
local MIN = 60000
local n = #KEYS / 2
local qs, ss = {}, {}

-- 1. Load every scope and bring it to now (refill, period roll-over, expired leases).
for i = 1, n do
  local b = 10 + (i - 1) * 5
  local q = { rpm = tonumber(ARGV[b]), tpm = tonumber(ARGV[b + 1]), conc = tonumber(ARGV[b + 2]),
              budget = tonumber(ARGV[b + 3]), per = tonumber(ARGV[b + 4]) }
  local h = redis.call('HMGET', KEYS[2 * i - 1], 'rl', 'rt', 'tl', 'tt', 'sp', 'pd')
  local s
  if h[1] then
    s = { rl = tonumber(h[1]), rt = tonumber(h[2]), tl = tonumber(h[3]), tt = tonumber(h[4]),
          sp = tonumber(h[5]), pd = tonumber(h[6]) }
  else
    s = { rl = q.rpm, rt = now, tl = q.tpm, tt = now, sp = 0, pd = math.floor(now / q.per) }
  end
  if q.rpm > 0 then
    if now > s.rt then s.rl = math.min(q.rpm, s.rl + (now - s.rt) * q.rpm / MIN) end
    s.rt = math.max(s.rt, now)
  end
  if q.tpm > 0 then
    if now > s.tt then s.tl = math.min(q.tpm, s.tl + (now - s.tt) * q.tpm / MIN) end
    s.tt = math.max(s.tt, now)
  end
  local period = math.floor(now / q.per)
  if period ~= s.pd then s.pd = period; s.sp = 0 end
  if q.conc > 0 then
    redis.call('ZREMRANGEBYSCORE', KEYS[2 * i], '-inf', now)
    s.inflight = redis.call('ZCARD', KEYS[2 * i])
  end
  qs[i] = q
  ss[i] = s
end

-- Numbers are written with 17 significant digits: Redis would turn a Lua number into a
-- string with 14, and bucket levels that lose their last bits drift from bucket.ts.
local function num(x) return string.format('%.17g', x) end
local function save(i)
  local s, q = ss[i], qs[i]
  redis.call('HSET', KEYS[2 * i - 1], 'rl', num(s.rl), 'rt', num(s.rt), 'tl', num(s.tl), 'tt', num(s.tt),
    'sp', num(s.sp), 'pd', num(s.pd))
  local ttl = 120000
  if q.budget > 0 then ttl = math.max(ttl, 2 * q.per) end
  redis.call('PEXPIRE', KEYS[2 * i - 1], ttl)
end

if op == 'reserve' then
  -- 2. Check every scope before charging any, so a refusal charges nothing. The scopes
  --    up to the refusing one keep their refill (bucket.ts advances them in place too):
  --    refilling in one step or in two differs in the last bits of a double.
  local function refuse(i, code, reason, retry)
    for j = 1, i do save(j) end
    return { 0, code, reason, retry, i }
  end
  for i = 1, n do
    local q, s = qs[i], ss[i]
    if q.rpm > 0 and s.rl < 1 then
      return refuse(i, 'RATE_LIMITED', 'requests', math.ceil((1 - s.rl) * MIN / q.rpm))
    end
    if q.tpm > 0 then
      local need = math.min(tokens, q.tpm)
      if s.tl < need then
        return refuse(i, 'RATE_LIMITED', 'tokens', math.ceil((need - s.tl) * MIN / q.tpm))
      end
    end
    if q.conc > 0 and s.inflight >= q.conc then
      return refuse(i, 'RATE_LIMITED', 'concurrency', -1)
    end
    if q.budget > 0 and (s.sp >= q.budget or s.sp + cost > q.budget) then
      return refuse(i, 'QUOTA_EXCEEDED', 'budget', math.ceil((s.pd + 1) * q.per - now))
    end
  end
  -- 3. Charge every scope.
  for i = 1, n do
    local q, s = qs[i], ss[i]
    if q.rpm > 0 then s.rl = s.rl - 1 end
    if q.tpm > 0 then s.tl = s.tl - tokens end
    if q.conc > 0 then
      redis.call('ZADD', KEYS[2 * i], now + lease, id)
      redis.call('PEXPIRE', KEYS[2 * i], lease)
    end
    if q.budget > 0 then s.sp = s.sp + cost end
    save(i)
  end
  return { 1, tostring(now) }
end

-- op == 'settle': refund/charge the differences and free the slot.
for i = 1, n do
  local q, s = qs[i], ss[i]
  if q.tpm > 0 then s.tl = math.min(q.tpm, s.tl + tokens - atok) end
  if q.conc > 0 then redis.call('ZREM', KEYS[2 * i], id) end
  if q.budget > 0 then
    local held = 0
    if math.floor(at / q.per) == s.pd then held = cost end
    s.sp = math.max(0, s.sp + acost - held)
  end
  save(i)
end
return { 1, tostring(now) }
`;
