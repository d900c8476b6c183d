-- Public: health score of a signal from its gaps (DESIGN §9), 0..100.
CREATE OR REPLACE FUNCTION sigsync.calculate_signal_health_score(gaps jsonb)
RETURNS integer
LANGUAGE sql
STABLE
SECURITY DEFINER   -- sigsync_reader may call it without reading the tables it uses
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT sigsync._health_score(gaps)
$$;
COMMENT ON FUNCTION sigsync.calculate_signal_health_score(jsonb) IS
    'Health score 0..100: 100 minus the weights (sigsync.gap_types) of the open gaps, minus weight x (1 - confidence) '
    'for each gap type whose fields were filled below confidence 1.0. Input: {"<gap_type>": true|<since>, ..., '
    '"confidence": {"<gap_type or field>": 0.8}} or an array of gap types. '
    'Example: SELECT sigsync.calculate_signal_health_score(''["no_htf_alignment", "no_confirmation_time"]'') -> 80.';
GRANT EXECUTE ON FUNCTION sigsync.calculate_signal_health_score(jsonb) TO sigsync_reader;
REVOKE ALL ON FUNCTION sigsync.calculate_signal_health_score(jsonb) FROM PUBLIC;
SELECT sigsync._pin_session_settings('sigsync.calculate_signal_health_score(jsonb)');
SELECT sigsync._definer_owns('sigsync.calculate_signal_health_score(jsonb)');
