-- 001_init.sql - the s48 schema (SPEC sections 2, 3, 5).
-- Times are Unix seconds (UTC).  Message-IDs are stored without <>.

-- Every inbound message exactly once (source_key unique per source).
CREATE TABLE raw_messages (
	id INTEGER PRIMARY KEY,
	source TEXT NOT NULL,                 -- "imap", "sms", ...
	source_key TEXT UNIQUE NOT NULL,      -- "imap:INBOX:UIDVALIDITY:UID", "sms:infobip:ID"
	alt_key TEXT,                         -- e.g. Message-ID + body sha256
	received_at INTEGER NOT NULL,
	sent_at INTEGER,
	sender TEXT,
	size INTEGER NOT NULL DEFAULT 0,
	truncated INTEGER NOT NULL DEFAULT 0,
	bytes BLOB,
	outcome TEXT,                         -- ticket, append, command, staff, ignored, recorded
	ticket_id INTEGER,
	note TEXT
);
CREATE INDEX raw_messages_alt_key ON raw_messages(alt_key);
CREATE INDEX raw_messages_ticket ON raw_messages(ticket_id);

CREATE TABLE tickets (
	id INTEGER PRIMARY KEY,
	status TEXT NOT NULL DEFAULT 'open'
		CHECK (status IN ('open', 'in_progress', 'resolved', 'rejected')),
	channel TEXT NOT NULL CHECK (channel IN ('sms', 'email')),
	reporter TEXT NOT NULL,
	department TEXT NOT NULL,
	subject TEXT NOT NULL DEFAULT '',
	text TEXT NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL,
	due_at INTEGER NOT NULL,
	warn_at INTEGER,                      -- NULL: no warning
	updated_at INTEGER NOT NULL,
	resolved_at INTEGER,
	warned_at INTEGER,
	escalated_at INTEGER,
	backlog INTEGER NOT NULL DEFAULT 0,
	message_id TEXT                       -- the citizen's first Message-ID
);
CREATE INDEX tickets_reporter ON tickets(reporter, created_at);
CREATE INDEX tickets_status_due ON tickets(status, due_at);
CREATE INDEX tickets_department ON tickets(department);
CREATE INDEX tickets_created ON tickets(created_at);

CREATE TABLE messages (
	id INTEGER PRIMARY KEY,
	ticket_id INTEGER NOT NULL REFERENCES tickets(id),
	direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
	channel TEXT NOT NULL,
	at INTEGER NOT NULL,
	text TEXT NOT NULL DEFAULT '',
	raw_id INTEGER REFERENCES raw_messages(id),
	message_id TEXT,
	norm_hash TEXT
);
CREATE INDEX messages_ticket ON messages(ticket_id, at);
CREATE INDEX messages_message_id ON messages(message_id);
CREATE INDEX messages_norm_hash ON messages(norm_hash);

CREATE TABLE events (
	id INTEGER PRIMARY KEY,
	ticket_id INTEGER NOT NULL REFERENCES tickets(id),
	at INTEGER NOT NULL,
	kind TEXT NOT NULL,                   -- created status assign note message warning escalation ...
	from_value TEXT,
	to_value TEXT,
	by TEXT,
	note TEXT,
	public INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX events_ticket ON events(ticket_id, id);

CREATE TABLE attachments (
	id INTEGER PRIMARY KEY,
	ticket_id INTEGER NOT NULL REFERENCES tickets(id),
	raw_id INTEGER REFERENCES raw_messages(id),
	idx INTEGER NOT NULL,                 -- 0-based per ticket, the index `show` prints
	filename TEXT NOT NULL,
	content_type TEXT NOT NULL,
	size INTEGER NOT NULL,
	sha256 TEXT NOT NULL DEFAULT '',
	content BLOB,
	omitted INTEGER NOT NULL DEFAULT 0,
	UNIQUE (ticket_id, idx)
);

CREATE TABLE outbox (
	id INTEGER PRIMARY KEY,
	ticket_id INTEGER REFERENCES tickets(id),
	channel TEXT NOT NULL CHECK (channel IN ('sms', 'email')),
	recipient TEXT NOT NULL,
	kind TEXT NOT NULL,
	subject TEXT,
	body TEXT NOT NULL DEFAULT '',
	in_reply_to TEXT,
	references_hdr TEXT,
	message_id TEXT NOT NULL,
	tag_token INTEGER NOT NULL DEFAULT 0,
	with_attachments INTEGER NOT NULL DEFAULT 0,
	auto INTEGER NOT NULL DEFAULT 0,
	status TEXT NOT NULL DEFAULT 'pending'
		CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'suppressed')),
	attempts INTEGER NOT NULL DEFAULT 0,
	next_at INTEGER NOT NULL,
	reason TEXT,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	sent_at INTEGER
);
CREATE INDEX outbox_status_next ON outbox(status, next_at);
CREATE INDEX outbox_recipient ON outbox(recipient, created_at);
-- the daily cap counts these rows only (outbox_queue.c uses the same WHERE)
CREATE INDEX outbox_auto ON outbox(recipient, created_at) WHERE auto = 1 AND status <> 'suppressed';
CREATE INDEX outbox_message_id ON outbox(message_id);

CREATE TABLE source_state (
	key TEXT PRIMARY KEY,
	value TEXT
);

CREATE TABLE sms_optout (
	number TEXT PRIMARY KEY,
	at INTEGER NOT NULL
);
