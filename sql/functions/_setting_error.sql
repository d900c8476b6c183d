-- Internal: why a value is not acceptable for a setting, NULL when it is. Each setting's kind and
-- bound are declared once, here; schema 0004's trigger on sigsync.settings refuses a bad value
-- when it is written, so a mistyped setting is a clear error at once, never a cycle (or an
-- ingest, or a view) that fails for everything later. Kinds:
--   interval   a positive interval up to the bound (also positive in every month: '1 mon -30
--              days' is not), so that time arithmetic with it can never overflow
--   positive   a number > 0 up to the bound
--   count      a whole number from 1 up to the bound
--   timezone   a time zone name PostgreSQL knows
--   symbol     a non-empty string of at most 40 characters
--   multiples  a non-empty array of at most 20 numbers, each > 0 and up to the bound
-- An unknown key is refused too (a typo would silently change nothing).
CREATE OR REPLACE FUNCTION sigsync._setting_error(p_key text, p_value jsonb)
RETURNS text
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_kind text;
    v_max text;
    v_text text := p_value #>> '{}';
    v_interval interval;
    v_number numeric;
BEGIN
    SELECT k.kind, k.max INTO v_kind, v_max
      FROM (VALUES ('default_symbol', 'symbol', NULL), ('timezone', 'timezone', NULL),
                   ('bar_interval', 'interval', '7 days'), ('be_trigger_r', 'positive', '100'),
                   ('target_multiples', 'multiples', '1000'), ('mfe_stale_after', 'interval', '7 days'),
                   ('heartbeat_timeout', 'interval', '7 days'), ('sync_request_timeout', 'interval', '1 day'),
                   ('max_payload_bytes', 'count', '104857600'), ('run_retention', 'interval', '100 years'),
                   ('audit_retention', 'interval', '100 years'), ('max_clock_skew', 'interval', '7 days'),
                   ('max_batch_items', 'count', '1000000'), ('max_payloads_per_call', 'count', '1000000'),
                   ('rejected_retention', 'interval', '100 years'), ('cycle_stall_after', 'interval', '30 days')
           ) k(key, kind, max)
     WHERE k.key = p_key;
    IF v_kind IS NULL THEN
        RETURN 'unknown setting';
    ELSIF p_value IS NULL OR jsonb_typeof(p_value) = 'null' THEN
        RETURN 'a value is required';
    ELSIF v_kind = 'multiples' THEN
        IF jsonb_typeof(p_value) <> 'array' OR jsonb_array_length(p_value) NOT BETWEEN 1 AND 20
           OR EXISTS (SELECT 1 FROM jsonb_array_elements(p_value) e
                       WHERE jsonb_typeof(e) <> 'number' OR (e #>> '{}')::numeric <= 0
                          OR (e #>> '{}')::numeric > v_max::numeric) THEN
            RETURN format('must be a JSON array of 1 to 20 numbers > 0 and at most %s, such as [1, 2, 3]', v_max);
        END IF;
    ELSIF v_kind IN ('interval', 'timezone', 'symbol') AND jsonb_typeof(p_value) <> 'string' THEN
        RETURN 'must be a JSON string, such as ' || CASE v_kind WHEN 'interval' THEN '"5 minutes"'
                                                           WHEN 'timezone' THEN '"America/New_York"' ELSE '"NQ1!"' END;
    ELSIF v_kind = 'interval' THEN
        BEGIN
            v_interval := v_text::interval;
        EXCEPTION WHEN others THEN
            RETURN format('%s is not an interval (such as "5 minutes")', p_value);
        END;
        IF v_interval > v_max::interval THEN
            RETURN format('must be at most %s', v_max);
        END IF;
        -- positive from any day: after the last day of February, of a 31-day month and of a year
        IF NOT (SELECT bool_and(d.t + v_interval > d.t)
                  FROM (VALUES (timestamptz '2024-02-29 00:00:00+00'), (timestamptz '2025-02-28 00:00:00+00'),
                               (timestamptz '2025-01-31 00:00:00+00'), (timestamptz '2025-12-31 23:59:59+00')) d(t)) THEN
            RETURN 'must be a positive interval';
        END IF;
    ELSIF v_kind = 'timezone' THEN
        IF NOT EXISTS (SELECT 1 FROM pg_timezone_names z WHERE z.name = v_text) THEN
            RETURN format('%s is not a time zone name (such as "America/New_York"; see pg_timezone_names)', p_value);
        END IF;
    ELSIF v_kind = 'symbol' THEN
        IF btrim(v_text) = '' OR length(v_text) > 40 THEN
            RETURN 'must be a non-empty string of at most 40 characters';
        END IF;
    ELSE
        BEGIN
            v_number := CASE WHEN jsonb_typeof(p_value) = 'number' THEN v_text::numeric END;
        EXCEPTION WHEN others THEN
            v_number := NULL;
        END;
        IF v_number IS NULL OR v_number <= 0 OR v_number > v_max::numeric
           OR (v_kind = 'count' AND v_number <> trunc(v_number)) THEN
            RETURN CASE v_kind WHEN 'count' THEN format('must be a whole number from 1 to %s', v_max)
                               ELSE format('must be a number > 0 and at most %s', v_max) END;
        END IF;
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION sigsync._setting_error(text, jsonb) IS
    'Internal: why a value is not acceptable for a setting (NULL when it is); each setting''s kind and bound are declared here.';
REVOKE ALL ON FUNCTION sigsync._setting_error(text, jsonb) FROM PUBLIC;
