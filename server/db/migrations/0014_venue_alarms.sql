-- Issue 5: alarms raised by venue boxes (disk full of held footage, recording paused). One row per
-- alarm id; a later "cleared" message updates it.
CREATE TABLE venue_alarms (
  id uuid PRIMARY KEY,
  venue_id text NOT NULL,
  kind text NOT NULL,
  active boolean NOT NULL,
  raised_at timestamptz NOT NULL,
  detail text NOT NULL,
  paused_cameras text[] NOT NULL,
  free_bytes bigint NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX venue_alarms_venue_idx ON venue_alarms (venue_id, raised_at);
