-- 0011: the last two audit action types that nothing in sigsync writes go (issue 15, after 0008):
-- 'exit_inferred' (an exit inferred from price bars is audited as a tier 2 'fill' of exit_time /
-- be_exit_time) and 'info' (a note made by hand). An audit row 'exit_inferred' becomes the 'fill'
-- sigsync writes for the same thing; a note 'info' stops the migration with the rows to decide on:
-- the audit log is a record, and the migration cannot know what such a note should become.
DO $$
DECLARE
    v_notes bigint := (SELECT count(*) FROM sigsync.sync_audit_log WHERE action_type = 'info');
BEGIN
    IF v_notes > 0 THEN
        RAISE EXCEPTION 'sigsync: sigsync.sync_audit_log holds % rows of action type info, which sigsync no longer declares', v_notes
            USING ERRCODE = 'foreign_key_violation',
                  HINT = 'Notes made by hand: give them a kind of sigsync.action_types (UPDATE sigsync.sync_audit_log '
                         'SET action_type = ... WHERE action_type = ''info'') or delete them, then migrate again.';
    END IF;
END
$$;
UPDATE sigsync.sync_audit_log SET action_type = 'fill' WHERE action_type = 'exit_inferred';
DELETE FROM sigsync.action_types WHERE action_type IN ('info', 'exit_inferred');
