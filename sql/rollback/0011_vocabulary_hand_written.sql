-- Inverse of schema/0011_vocabulary_hand_written.sql: the two action types come back as 0008 declared them.
INSERT INTO sigsync.action_types (action_type, meaning) VALUES
    ('info',            'A note written by hand (sigsync itself writes none).'),
    ('exit_inferred',   'Not written by sigsync: an exit inferred from price bars is a tier 2 fill of exit_time / '
                        'be_exit_time. Kept for audit rows made by hand.');
