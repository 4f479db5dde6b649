-- Device health (issue 3): current state of every camera, sensor and venue box, a downsampled
-- history, alerts and the daily camera intact rate (摄像机完好率). Runs on PostgreSQL and PGlite.

-- A box's device_id is its venue id; cameras and sensors are "<venue>.<local>".
CREATE TABLE device_health (
  device_id text PRIMARY KEY,
  venue_id text NOT NULL,
  kind text NOT NULL,
  room_id text NULL,
  name text NOT NULL,
  online boolean NOT NULL,
  state text NOT NULL,
  data jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX device_health_venue_idx ON device_health (venue_id);

-- One row per device and bucket (deviceHealth.historyBucketMinutes): sums, so a bucket is updated in place.
CREATE TABLE device_health_history (
  device_id text NOT NULL,
  venue_id text NOT NULL,
  bucket timestamptz NOT NULL,
  samples integer NOT NULL,
  online_samples integer NOT NULL,
  fps_sum double precision NOT NULL DEFAULT 0,
  fps_n integer NOT NULL DEFAULT 0,
  bitrate_sum double precision NOT NULL DEFAULT 0,
  bitrate_n integer NOT NULL DEFAULT 0,
  clock_offset_ms double precision NULL,
  max_segment_age_s double precision NULL,
  PRIMARY KEY (device_id, bucket)
);
CREATE INDEX device_health_history_bucket_idx ON device_health_history (bucket);

CREATE TABLE device_alerts (
  id uuid PRIMARY KEY,
  venue_id text NOT NULL,
  device_id text NOT NULL,
  room_id text NULL,
  kind text NOT NULL,
  message text NOT NULL,
  raised_at timestamptz NOT NULL,
  cleared_at timestamptz NULL,
  acknowledged_at timestamptz NULL,
  acknowledged_by text NULL
);
CREATE INDEX device_alerts_venue_idx ON device_alerts (venue_id, raised_at);
-- At most one open alert per device and kind.
CREATE UNIQUE INDEX device_alerts_open_idx ON device_alerts (device_id, kind) WHERE cleared_at IS NULL;

CREATE TABLE camera_intact_daily (
  venue_id text NOT NULL,
  day date NOT NULL,
  camera_samples integer NOT NULL,
  intact_samples integer NOT NULL,
  PRIMARY KEY (venue_id, day)
);
