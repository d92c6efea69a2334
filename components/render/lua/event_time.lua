-- The record time is the event's own time: the syslog TIMESTAMP the parser kept in
-- `timestamp`, in any form rsyslog or a sender writes it (RFC 3339 with or without a
-- fraction, Z or an offset; RFC 3164 "Mmm dd hh:mm:ss" with no year and no zone). A
-- record whose timestamp cannot be read (nil "-", garbage) keeps its arrival time and
-- says so in `time_unreadable`. Fluent Bit's own time_format needs one fixed form (its %L
-- wants a fraction), which is why this is a filter and not the parser's time_key.
-- Runs with time_as_table: the record time is {sec, nsec}.

local RFC3164_OFFSET_SECONDS = __RFC3164_OFFSET_SECONDS__
local MONTHS = {
  Jan = 1, Feb = 2, Mar = 3, Apr = 4, May = 5, Jun = 6,
  Jul = 7, Aug = 8, Sep = 9, Oct = 10, Nov = 11, Dec = 12,
}

-- Days since 1970-01-01 of a proleptic Gregorian date (no time zone, no os.time).
local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local doy = math.floor((153 * ((m + 9) % 12) + 2) / 5) + d - 1
  local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

local function seconds(y, mo, d, h, mi, s)
  if mo < 1 or mo > 12 or d < 1 or d > 31 or h > 23 or mi > 59 or s > 60 then
    return nil
  end
  return days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s
end

local function rfc3339(text)
  local y, mo, d, h, mi, s, rest =
    text:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)T(%d%d):(%d%d):(%d%d)(.*)$")
  if y == nil then return nil end
  local fraction, zone = rest:match("^%.(%d+)(.*)$")
  if fraction == nil then fraction, zone = "", rest end
  local offset = 0
  if zone ~= "Z" then
    local sign, zh, zm = zone:match("^([+-])(%d%d):?(%d%d)$")
    if sign == nil then return nil end
    offset = (tonumber(zh) * 60 + tonumber(zm)) * 60
    if sign == "-" then offset = -offset end
  end
  local sec = seconds(tonumber(y), tonumber(mo), tonumber(d), tonumber(h), tonumber(mi),
                      tonumber(s))
  if sec == nil then return nil end
  local nsec = 0
  if fraction ~= "" then nsec = tonumber((fraction .. "000000000"):sub(1, 9)) end
  return sec - offset, nsec
end

-- RFC 3164 has no year: the current one (UTC), or the last one for a date that would
-- lie more than a day ahead (a December event read in January).
local function rfc3164(text, now)
  local mon, d, h, mi, s = text:match("^(%a%a%a) +(%d%d?) (%d%d):(%d%d):(%d%d)$")
  local mo = mon and MONTHS[mon]
  if mo == nil then return nil end
  local year = tonumber(os.date("!%Y", now))
  local function at(y)
    local sec = seconds(y, mo, tonumber(d), tonumber(h), tonumber(mi), tonumber(s))
    return sec and sec - RFC3164_OFFSET_SECONDS
  end
  local sec = at(year)
  if sec ~= nil and sec > now + 86400 then sec = at(year - 1) end
  if sec == nil then return nil end
  return sec, 0
end

function event_time(tag, ts, record)
  local text = record["timestamp"]
  local sec, nsec
  if type(text) == "string" then
    sec, nsec = rfc3339(text)
    if sec == nil then sec, nsec = rfc3164(text, ts.sec) end
  end
  if sec == nil then
    record["time_unreadable"] = true
    return 2, ts, record
  end
  return 1, { sec = sec, nsec = nsec }, record
end
