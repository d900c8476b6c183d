-- 62_rule_homes: a rule that several objects apply has one home, and they agree with it.
--   * "online" (a HEARTBEAT within heartbeat_timeout: sigsync._indicator_online) for
--     reconcile, the view indicator_link and, through it, system_health;
--   * "open gap" for the health score: an open gap is not also counted as a low-confidence fill.
BEGIN;
SET LOCAL search_path = sigsync, public;
SELECT plan(8);

INSERT INTO sigsync.indicator_status (source, last_heartbeat_at)
VALUES ('h-recent', now() - interval '4 minutes'), ('h-old', now() - interval '6 minutes'), ('h-never', NULL);
UPDATE sigsync.settings SET value = '"5 minutes"' WHERE key = 'heartbeat_timeout';
SELECT results_eq($$SELECT source, online FROM sigsync.indicator_link ORDER BY source$$,
                  $$VALUES ('h-never', false), ('h-old', false), ('h-recent', true)$$,
                  'indicator_link: online within heartbeat_timeout (5 minutes), never heard of is offline');
SELECT is((SELECT count(*)::integer FROM sigsync.indicator_link l
            JOIN sigsync.indicator_status i USING (source)
           WHERE l.online IS DISTINCT FROM sigsync._indicator_online(i.last_heartbeat_at, now())), 0,
          'indicator_link.online is what sigsync._indicator_online says');
SELECT is((SELECT indicator_online FROM sigsync.system_health), true, 'system_health: some source is online');

UPDATE sigsync.settings SET value = '"3 minutes"' WHERE key = 'heartbeat_timeout';
SELECT is((SELECT count(*)::integer FROM sigsync.indicator_link WHERE online), 0,
          'a shorter heartbeat_timeout (3 minutes): every source offline, in the view too');
SELECT is((SELECT indicator_online FROM sigsync.system_health), false, 'system_health follows the same rule');
SELECT is((SELECT offline_since FROM sigsync.indicator_link WHERE source = 'h-recent'),
          (SELECT last_heartbeat_at + interval '3 minutes' FROM sigsync.indicator_status WHERE source = 'h-recent'),
          'offline since the last heartbeat + heartbeat_timeout');
SELECT ok(pg_get_viewdef('sigsync.system_health'::regclass) !~ 'heartbeat_timeout',
          'system_health does not spell the rule itself');

-- an open gap weighs its full weight once: a low confidence on its fields adds nothing
SELECT is(sigsync.calculate_signal_health_score('{"no_targets": true, "confidence": {"targets_extended": 0.5}}'),
          sigsync.calculate_signal_health_score('{"no_targets": true}'),
          'an open gap is not also counted as a low-confidence fill');

SELECT * FROM finish();
ROLLBACK;
