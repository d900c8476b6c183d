-- Internal: the open gaps of a signal_health_metrics.gaps object ({"<gap_type>": <since>}):
-- keys that are gap types and whose value is not false/null (the reading
-- calculate_signal_health_score uses); since is NULL when the value is not a timestamp string
-- (read with _parse_ts, which never raises: one odd row must not break every view).
CREATE OR REPLACE FUNCTION sigsync._open_gap_entries(p_gaps jsonb)
RETURNS TABLE (gap_type text, since timestamptz)
LANGUAGE sql
STABLE
SECURITY DEFINER   -- lets sigsync_reader read gap types through the views, nothing more
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT g.key, CASE WHEN jsonb_typeof(g.value) = 'string' THEN sigsync._parse_ts(g.value, 'UTC') END
      FROM jsonb_each(coalesce(p_gaps, '{}')) g
     WHERE g.value NOT IN ('false'::jsonb, 'null'::jsonb)
       AND EXISTS (SELECT 1 FROM sigsync.gap_types t WHERE t.gap_type = g.key)
$$;
COMMENT ON FUNCTION sigsync._open_gap_entries(jsonb) IS 'Internal: open gap types and since of a gaps object (used by the views).';
REVOKE ALL ON FUNCTION sigsync._open_gap_entries(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sigsync._open_gap_entries(jsonb) TO sigsync_reader;
SELECT sigsync._definer_owns('sigsync._open_gap_entries(jsonb)');
