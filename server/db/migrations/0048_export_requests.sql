-- Footage export requests (调取录像申请): who asked to copy which footage out and why, who approved
-- or refused it and when, and how often it was downloaded. A row is never deleted: it is the record
-- the centre shows when asked who took evidence away.
CREATE TABLE export_requests (
  id uuid PRIMARY KEY,
  venue_id text NOT NULL REFERENCES venues(id),
  room_id text NOT NULL REFERENCES rooms(id),
  session_id uuid REFERENCES bid_sessions(id),
  from_at timestamptz NOT NULL,
  to_at timestamptz NOT NULL,
  purpose text NOT NULL,
  status text NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'withdrawn')),
  requested_by_id uuid NOT NULL REFERENCES users(id),
  requested_by_name text NOT NULL,
  requested_at timestamptz NOT NULL,
  decided_by_id uuid REFERENCES users(id),
  decided_by_name text,
  decided_at timestamptz,
  decision_note text,
  expires_at timestamptz,
  downloads integer NOT NULL DEFAULT 0,
  CHECK (to_at > from_at)
);
-- The list: a venue's requests, newest first; the holds: a venue's live requests by window end.
CREATE INDEX export_requests_venue_idx ON export_requests (venue_id, requested_at DESC);
CREATE INDEX export_requests_holds_idx ON export_requests (venue_id, to_at) WHERE status IN ('pending', 'approved');
