-- Internal: why a value is not acceptable for a setting, NULL when it is. Each setting's kind
-- is declared once, here; schema 0004's trigger on sigsync.settings refuses a bad value when it
-- is written, so a mistyped setting is a clear error at once, never a cycle that fails for
-- every signal later. Kinds: interval (a positive interval), positive (a number > 0), count (a
-- whole number >= 1), timezone (a time zone name PostgreSQL knows), symbol (a non-empty string
-- of at most 40 characters), multiples (a non-empty array of numbers > 0). An unknown key is
-- refused too (a typo would silently change nothing).
CREATE OR REPLACE FUNCTION sigsync._setting_error(p_key text, p_value jsonb)
RETURNS text
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_kind text;
    v_text text := p_value #>> '{}';
    v_interval interval;
    v_number numeric;
BEGIN
    SELECT k.kind INTO v_kind
      FROM (VALUES ('default_symbol', 'symbol'), ('timezone', 'timezone'), ('bar_interval', 'interval'),
                   ('be_trigger_r', 'positive'), ('target_multiples', 'multiples'), ('mfe_stale_after', 'interval'),
                   ('heartbeat_timeout', 'interval'), ('sync_request_timeout', 'interval'),
                   ('max_payload_bytes', 'count'), ('run_retention', 'interval'), ('audit_retention', 'interval'),
                   ('max_clock_skew', 'interval'), ('max_batch_items', 'count'), ('max_payloads_per_call', 'count'),
                   ('rejected_retention', 'interval'), ('cycle_stall_after', 'interval')) k(key, kind)
     WHERE k.key = p_key;
    IF v_kind IS NULL THEN
        RETURN 'unknown setting';
    ELSIF p_value IS NULL OR jsonb_typeof(p_value) = 'null' THEN
        RETURN 'a value is required';
    ELSIF v_kind = 'multiples' THEN
        IF jsonb_typeof(p_value) <> 'array' OR jsonb_array_length(p_value) = 0
           OR EXISTS (SELECT 1 FROM jsonb_array_elements(p_value) e
                       WHERE jsonb_typeof(e) <> 'number' OR (e #>> '{}')::numeric <= 0) THEN
            RETURN 'must be a non-empty JSON array of numbers > 0, such as [1, 2, 3]';
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
        IF v_interval <= interval '0' THEN
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
        IF v_number IS NULL OR v_number <= 0 OR (v_kind = 'count' AND (v_number <> trunc(v_number) OR v_number > 2147483647)) THEN
            RETURN CASE v_kind WHEN 'count' THEN 'must be a whole number >= 1' ELSE 'must be a number > 0' END;
        END IF;
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION sigsync._setting_error(text, jsonb) IS
    'Internal: why a value is not acceptable for a setting (NULL when it is); each setting''s kind is declared here.';
REVOKE ALL ON FUNCTION sigsync._setting_error(text, jsonb) FROM PUBLIC;
