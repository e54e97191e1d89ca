-- Where the order of things within a second matters (a workflow step, a revision, an audit line,
-- a session's start and last use), the time is kept in milliseconds since the Unix epoch, in a
-- column whose name says so. Events, revisions and audit lines were already ordered by their ids;
-- their times now show that order too. Sessions have no id: started in the same second, they now
-- list in the order they were begun.
ALTER TABLE sessions RENAME COLUMN created_at TO created_at_ms;
ALTER TABLE sessions RENAME COLUMN last_seen_at TO last_seen_at_ms;
ALTER TABLE sessions RENAME COLUMN reauth_at TO reauth_at_ms;
UPDATE sessions SET created_at_ms = created_at_ms * 1000, last_seen_at_ms = last_seen_at_ms * 1000,
    reauth_at_ms = reauth_at_ms * 1000;

ALTER TABLE workflow_events RENAME COLUMN at TO at_ms;
UPDATE workflow_events SET at_ms = at_ms * 1000;

ALTER TABLE revisions RENAME COLUMN created_at TO created_at_ms;
UPDATE revisions SET created_at_ms = created_at_ms * 1000;

ALTER TABLE audit_log RENAME COLUMN at TO at_ms;
UPDATE audit_log SET at_ms = at_ms * 1000;
