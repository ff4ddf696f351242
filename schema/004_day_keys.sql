-- 004_day_keys.sql - the daily cap's index keyed by day first.
--
-- outbox_auto was (recipient, created_at): every automatic reply inserted
-- an entry at a random place of an index as large as the outbox, and on a
-- database of years that is a page read and a page written (WAL, then the
-- checkpoint) for each reply.  Keyed by the UTC day of created_at first,
-- the entries of today sit together at the end of the index, in the pages
-- the last replies already touched.  The cap's count looks each UTC day of
-- the local day up exactly (outbox_queue.c: OUTBOX_CAP_COUNT; test_fastpath
-- checks the plans).
DROP INDEX outbox_auto;
CREATE INDEX outbox_auto ON outbox(created_at / 86400, recipient, created_at)
	WHERE auto = 1 AND status <> 'suppressed';
