-- Internal: what a signal's Tier 2 walk depends on besides the bars (DESIGN §6): the bar
-- walk stores it with its state (sigsync.bar_walks) and continues the walk only while it is
-- unchanged; the missed_exit gap reads the stored walk under the same condition. The real
-- exit (an EXIT_SL from an event, not inferred by the walk itself) caps the walk.
-- (PL/pgSQL: called once a row, it is evaluated without the executor a SQL function sets up at every call.)
CREATE OR REPLACE FUNCTION sigsync._walk_basis(
    p_direction text,
    p_entry numeric,
    p_stop numeric,
    p_confirmation timestamptz,
    p_exit_time timestamptz,
    p_exit_tier text,
    p_be_trigger_r numeric,
    OUT real_exit timestamptz,
    OUT basis text)
LANGUAGE plpgsql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    real_exit := CASE WHEN p_exit_tier <> '2' THEN p_exit_time END;
    basis := concat_ws('|', p_direction, p_entry, p_stop, p_confirmation, real_exit, p_be_trigger_r);
END
$$;
COMMENT ON FUNCTION sigsync._walk_basis(text, numeric, numeric, timestamptz, timestamptz, text, numeric) IS
    'Internal: the real exit that caps a signal''s Tier 2 walk, and the basis its stored walk is valid for.';
REVOKE ALL ON FUNCTION sigsync._walk_basis(text, numeric, numeric, timestamptz, timestamptz, text, numeric) FROM PUBLIC;
-- (pure: the view signal_bars, which sigsync_reader reads, applies the same real-exit rule through it)
GRANT EXECUTE ON FUNCTION sigsync._walk_basis(text, numeric, numeric, timestamptz, timestamptz, text, numeric) TO sigsync_reader, sigsync_admin;
