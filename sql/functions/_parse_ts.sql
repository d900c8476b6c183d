-- Internal: a timestamp as sent in a payload -> timestamptz, NULL when malformed. Never raises.
-- Accepts epoch milliseconds (number or digit string) and ISO-8601 date-times with or without
-- offset, both in the years 2000..2099 (the bound of trade_ids too); a naive time is in time
-- zone p_tz. Either is rounded to the microsecond in numeric, half away from zero: one instant
-- is one time in every form and however many trailing zeros it is written with. (No backslash
-- in a literal: its meaning would depend on the caller's standard_conforming_strings.)
CREATE OR REPLACE FUNCTION sigsync._parse_ts(p_value jsonb, p_tz text)
RETURNS timestamptz
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_text text;
    v_us numeric;
    m text[];
    v_y int; v_mo int; v_d int; v_h int; v_mi int; v_s numeric;
BEGIN
    IF p_value IS NULL OR jsonb_typeof(p_value) NOT IN ('number', 'string') THEN
        RETURN NULL;
    END IF;
    v_text := btrim(p_value #>> '{}');
    IF jsonb_typeof(p_value) = 'number' OR v_text ~ '^[0-9]{1,15}([.][0-9]+)?$' THEN
        IF v_text !~ '^[0-9]{1,15}([.][0-9]+)?$' THEN
            RETURN NULL;                      -- negative, exponent form, too large
        END IF;
        -- whole microseconds, in numeric: the same number however many trailing zeros it is
        -- written with is the same time (a float division's rounding depended on them)
        v_us := round(v_text::numeric * 1000);
        IF v_us < 946684800000000 OR v_us >= 4102444800000000 THEN
            RETURN NULL;                      -- outside 2000..2099: not epoch milliseconds
        END IF;
        RETURN 'epoch'::timestamptz + v_us::bigint * interval '1 microsecond';
    END IF;
    m := regexp_match(v_text,
        '^([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[Tt ]([0-9]{2}):([0-9]{2})(?::([0-9]{2}(?:[.][0-9]{1,9})?))?)?[[:space:]]*([Zz]|[+-][0-9]{2}(?::?[0-9]{2})?)?$');
    IF m IS NULL THEN
        RETURN NULL;
    END IF;
    v_y := m[1]::int; v_mo := m[2]::int; v_d := m[3]::int;
    v_h := coalesce(m[4], '0')::int; v_mi := coalesce(m[5], '0')::int; v_s := coalesce(m[6], '0')::numeric;
    IF v_y < 2000 OR v_y > 2099 OR v_mo NOT BETWEEN 1 AND 12 OR v_d < 1
       OR v_d > extract(day FROM (make_date(v_y, v_mo, 1) + interval '1 month - 1 day'))::int
       OR v_h > 23 OR v_mi > 59 OR v_s >= 60 THEN
        RETURN NULL;
    END IF;
    v_s := round(v_s, 6);   -- whole microseconds, half away from zero, as for epoch milliseconds
    IF v_s >= 60 AND (v_y, v_mo, v_d, v_h, v_mi) = (2099, 12, 31, 23, 59) THEN
        RETURN NULL;          -- rounds into 2100
    END IF;
    IF m[7] IS NULL THEN
        RETURN make_timestamptz(v_y, v_mo, v_d, v_h, v_mi, v_s::double precision, p_tz);
    END IF;
    IF m[7] !~* '^z$' AND (substr(m[7], 2, 2)::int > 15
                           OR coalesce(nullif(substr(replace(m[7], ':', ''), 4, 2), ''), '0')::int > 59) THEN
        RETURN NULL;
    END IF;
    -- Every part was validated above, so this cast cannot fail.
    RETURN format('%s-%s-%s %s:%s:%s %s', v_y, v_mo, v_d, v_h, v_mi, v_s, m[7])::timestamptz;
END
$$;
COMMENT ON FUNCTION sigsync._parse_ts(jsonb, text) IS
    'Internal: payload timestamp (epoch ms or ISO-8601; naive = time zone p_tz) as timestamptz; NULL when malformed.';
REVOKE ALL ON FUNCTION sigsync._parse_ts(jsonb,text) FROM PUBLIC;
