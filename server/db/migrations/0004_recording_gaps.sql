-- Issue 5: recording gaps as the venue boxes report them, with their cause. Idempotent by the
-- gap id the box chose (the outbox may deliver a message twice); no foreign key to cameras for
-- the same reason as segments (a batch may arrive before the inventory).
CREATE TABLE recording_gaps (
  id uuid PRIMARY KEY,
  venue_id text NOT NULL,
  camera_id text NOT NULL,
  kind text NOT NULL,
  cause text NOT NULL,
  span tstzrange NOT NULL,
  detail text NULL,
  received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX recording_gaps_camera_span_gist ON recording_gaps USING gist (camera_id, span);
