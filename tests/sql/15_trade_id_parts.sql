-- The trade_id grammar (DESIGN §3, Tier 3 source): YYYYMMDD_HHMMSSmmm_BULLISH|BEARISH, the
-- suffix in any case, a date and time that exist. Every malformed id gives NULLs (ingest
-- rejects it as malformed_trade_id; parse_trade_id raises), never an error.
BEGIN;
SELECT plan(23);

SELECT is((SELECT row(p.*)::text FROM sigsync._trade_id_parts('20251212_104259123_bullish', 'America/New_York') p),
          row('20251212_104259123_BULLISH', '2025-12-12 10:42:59.123 America/New_York'::timestamptz,
              '2025-12-12'::date, 'Bullish')::text,
          'parts of a well-formed id: canonical upper-case id, bar time in the time zone, date, direction');
SELECT is((sigsync._trade_id_parts('20251212_104200000_BeArIsH', 'UTC')).direction, 'Bearish',
          'the suffix in any case');
SELECT is((sigsync._trade_id_parts('20240229_235959999_BEARISH', 'UTC')).signal_time,
          '2024-02-29 23:59:59.999+00'::timestamptz, 'a leap day, the last millisecond of the day');
SELECT is((sigsync._trade_id_parts('20000101_000000000_BULLISH', 'UTC')).signal_date, '2000-01-01'::date,
          'the earliest year accepted (2000, as for timestamps)');
SELECT is((sigsync._trade_id_parts('20991231_235959999_BEARISH', 'UTC')).signal_date, '2099-12-31'::date,
          'the latest year accepted (2099, as for timestamps)');

SELECT ok((SELECT p.trade_id IS NULL AND p.signal_time IS NULL AND p.signal_date IS NULL AND p.direction IS NULL
             FROM sigsync._trade_id_parts(t.id, 'UTC') p), format('malformed: %s (%s)', t.why, coalesce(t.id, 'NULL')))
  FROM (VALUES ('20230229_100000000_BULLISH', 'no 29 February in 2023'),
               ('20250431_100000000_BULLISH', 'no 31 April'),
               ('20251300_100000000_BULLISH', 'month 13'),
               ('20251200_100000000_BULLISH', 'day 0'),
               ('20251212_240000000_BULLISH', 'hour 24'),
               ('20251212_106000000_BULLISH', 'minute 60'),
               ('20251212_104260000_BULLISH', 'second 60'),
               ('19991231_235959999_BULLISH', 'before 2000'),
               ('21000101_000000000_BULLISH', 'after 2099'),
               ('99991231_235959999_BEARISH', 'year 9999'),
               ('20251212_104200000_bullısh', 'a dotless i in the suffix (folds to I in some locales)'),
               ('20251212_104200000_bulliſh', 'a long s in the suffix (folds to S in some locales)'),
               ('20251212_104200000_LONG', 'another suffix'),
               (' 20251212_104200000_BULLISH', 'a leading space'),
               ('20251212_104200000_BULLISHX', 'text after the suffix'),
               ('2025121_2104200000_BULLISH', 'the underscore out of place'),
               ('２０２５1212_104200000_BULLISH', 'non-ASCII digits'),
               (NULL, 'NULL')) t(id, why);

SELECT * FROM finish();
ROLLBACK;
