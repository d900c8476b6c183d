-- Internal, for the function files: hand a SECURITY DEFINER function over to sigsync_definer
-- (schema 0004), a NOLOGIN role without superuser powers that holds only what those functions
-- need, so that they never run as the migrating user. Each SECURITY DEFINER function file
-- calls it for its own function, after creating it. Before schema 0004 (a rollback re-applies
-- the current files) the role does not exist and the function keeps its owner.
-- ALTER ... OWNER by a migrating user that is not a superuser needs membership in the role
-- (0004 grants it) and the role's CREATE on the schema, which it holds only for this statement.
CREATE OR REPLACE FUNCTION sigsync._definer_owns(p_function regprocedure)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_superuser boolean := (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user);
BEGIN
    IF to_regrole('sigsync_definer') IS NULL THEN
        RETURN;
    END IF;
    IF NOT v_superuser THEN
        GRANT CREATE ON SCHEMA sigsync TO sigsync_definer;
    END IF;
    EXECUTE format('ALTER FUNCTION %s OWNER TO sigsync_definer', p_function);
    IF NOT v_superuser THEN
        REVOKE CREATE ON SCHEMA sigsync FROM sigsync_definer;
    END IF;
END
$$;
COMMENT ON FUNCTION sigsync._definer_owns(regprocedure) IS
    'Internal (migrations): make sigsync_definer the owner of a SECURITY DEFINER function, when that role exists.';
REVOKE ALL ON FUNCTION sigsync._definer_owns(regprocedure) FROM PUBLIC;
REVOKE ALL ON FUNCTION sigsync._definer_owns(regprocedure) FROM sigsync_admin;
