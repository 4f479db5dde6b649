-- The audit trail read per venue, newest first (GET /api/audit for a county's staff).
CREATE INDEX audit_log_venue_seq_idx ON audit_log (venue_id, seq);
