-- Internal: the session name of a moment, given the time zone (reads sigsync.sessions).
-- (PL/pgSQL: called once a row, it is evaluated without the executor a SQL function sets up at every call.)
CREATE OR REPLACE FUNCTION sigsync._session_at(p_at timestamptz, p_tz text)
RETURNS text
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
    RETURN coalesce(
        (SELECT s.name
           FROM sigsync.sessions s,
                LATERAL (SELECT (p_at AT TIME ZONE p_tz)::time AS t) lt
          WHERE CASE WHEN s.starts < s.ends
                     THEN lt.t >= s.starts AND lt.t < s.ends
                     ELSE lt.t >= s.starts OR lt.t < s.ends
                END
          ORDER BY s.starts, s.name
          LIMIT 1),
        'Off Hours');
END
$$;
COMMENT ON FUNCTION sigsync._session_at(timestamptz, text) IS 'Internal: session of a moment in time zone p_tz, ''Off Hours'' when in no window.';
REVOKE ALL ON FUNCTION sigsync._session_at(timestamp with time zone,text) FROM PUBLIC;
