-- Internal: the open gap types of a signal_health_metrics.gaps object, sorted.
CREATE OR REPLACE FUNCTION sigsync._gap_list(p_gaps jsonb)
RETURNS text[]
LANGUAGE sql
STABLE
SECURITY DEFINER   -- lets sigsync_reader read gap types through the views, nothing more
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(array_agg(g.gap_type ORDER BY g.gap_type COLLATE "C"), '{}')
      FROM sigsync._open_gap_entries(p_gaps) g
$$;
COMMENT ON FUNCTION sigsync._gap_list(jsonb) IS 'Internal: sorted open gap types of a gaps object (used by the views).';
REVOKE ALL ON FUNCTION sigsync._gap_list(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sigsync._gap_list(jsonb) TO sigsync_reader;
SELECT sigsync._definer_owns('sigsync._gap_list(jsonb)');
