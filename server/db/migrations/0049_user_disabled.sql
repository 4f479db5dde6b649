-- User administration: an account is disabled, never deleted (the ledger and the audit trail name
-- it for years); a disabled account cannot sign in and its sessions are ended.
ALTER TABLE users ADD COLUMN disabled_at timestamptz;
