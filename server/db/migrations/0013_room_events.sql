-- Room events (issue 3): camera ONVIF events (motion, tamper, video loss), sensor events and
-- clock drift, as the venue boxes report them.
CREATE TABLE room_events (
  id uuid PRIMARY KEY,
  venue_id text NOT NULL,
  device_id text NOT NULL,
  room_id text NULL,
  kind text NOT NULL,
  state boolean NULL,
  value text NULL,
  at timestamptz NOT NULL,
  source text NOT NULL,
  detail text NULL,
  received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX room_events_venue_at_idx ON room_events (venue_id, at);
CREATE INDEX room_events_room_at_idx ON room_events (room_id, at);
