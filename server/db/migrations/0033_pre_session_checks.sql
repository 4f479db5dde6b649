-- Pre-session checks (issue 3): the result of checking a session's room before it starts.
CREATE TABLE pre_session_checks (
  session_id uuid PRIMARY KEY REFERENCES bid_sessions(id) ON DELETE CASCADE,
  checked_at timestamptz NOT NULL,
  ok boolean NOT NULL,
  result jsonb NOT NULL
);
