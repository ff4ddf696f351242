-- 003_lighter_rows.sql - fewer index entries per ingested message
-- (BENCHMARKS.md, "ingest thread"); every look-up keeps its index
-- (test_fastpath checks the query plans).
--
-- Nothing looks tickets up by department: `s48ctl list --dept` filters
-- with "(?2 IS NULL OR department = ?2)", which no index serves, and stats
-- group a date range read through tickets_created.
DROP INDEX tickets_department;
-- Message-IDs are looked up for email threading only (In-Reply-To,
-- References): an SMS outbox row's id is never named by anyone, so SMS rows
-- stay out of the index (tickets_find_by_message_id asks for channel 'email').
DROP INDEX outbox_message_id;
CREATE INDEX outbox_message_id ON outbox(message_id) WHERE channel = 'email';
-- The citizen's replies name our acknowledgements and status mails by the
-- outbox row's Message-ID (indexed just above); the copy of that id on the
-- outbound message row need not be indexed twice: inbound rows only.
DROP INDEX messages_message_id;
CREATE INDEX messages_message_id ON messages(message_id)
	WHERE message_id IS NOT NULL AND direction = 'in';
-- A reporter's latest ticket is asked for by SMS only (STATUS without a
-- number; an email reporter is never a phone number).
DROP INDEX tickets_reporter;
CREATE INDEX tickets_reporter ON tickets(reporter, created_at) WHERE channel = 'sms';
