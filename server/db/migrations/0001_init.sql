-- VenueWatch centre: first schema. Runs unchanged on PostgreSQL 15+ and PGlite.
-- btree_gist lets one GiST index cover (camera_id, span) for the overlap queries.
CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE venues (
  id text PRIMARY KEY,
  name text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE rooms (
  id text PRIMARY KEY,
  venue_id text NOT NULL REFERENCES venues(id) ON DELETE CASCADE,
  name text NOT NULL,
  kind text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX rooms_venue_idx ON rooms (venue_id);

CREATE TABLE cameras (
  id text PRIMARY KEY,
  venue_id text NOT NULL REFERENCES venues(id) ON DELETE CASCADE,
  room_id text NULL,
  name text NOT NULL,
  endpoint text NULL,
  manufacturer text NULL,
  model text NULL,
  serial text NULL,
  firmware text NULL,
  xaddr text NULL,
  stream_uri text NULL,
  video_codec text NULL,
  audio_codec text NULL,
  recording boolean NOT NULL DEFAULT false,
  last_error text NULL,
  last_segment_end timestamptz NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX cameras_venue_idx ON cameras (venue_id);
CREATE INDEX cameras_room_idx ON cameras (room_id);

-- No foreign key to cameras: a venue's catalogue may arrive before its inventory, and the
-- catalogue is the venue's record of what it recorded, kept even if a camera is later removed.
CREATE TABLE segments (
  id uuid PRIMARY KEY,
  camera_id text NOT NULL,
  run_id uuid NOT NULL,
  span tstzrange NOT NULL,
  bytes bigint NOT NULL,
  sha256 text NOT NULL,
  has_audio boolean NOT NULL,
  catalogued_at timestamptz NOT NULL DEFAULT now(),
  stored_at timestamptz NULL,
  storage_key text NULL
);
CREATE INDEX segments_camera_span_gist ON segments USING gist (camera_id, span);

CREATE TABLE bid_sessions (
  id uuid PRIMARY KEY,
  project_code text NOT NULL,
  project_name text NOT NULL,
  kind text NOT NULL,
  room_id text NOT NULL REFERENCES rooms(id),
  planned_start timestamptz NOT NULL,
  planned_end timestamptz NOT NULL,
  created_by uuid NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  CHECK (planned_end > planned_start)
);
CREATE INDEX bid_sessions_room_idx ON bid_sessions (room_id, planned_start);

CREATE TABLE users (
  id uuid PRIMARY KEY,
  username text NOT NULL UNIQUE,
  display_name text NOT NULL,
  role text NOT NULL,
  venue_ids text[] NULL,
  password_hash text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE auth_sessions (
  token_hash text PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL
);
CREATE INDEX auth_sessions_user_idx ON auth_sessions (user_id);

-- Keyed by venue id alone: a box may report its status before its first inventory.
CREATE TABLE agent_status (
  venue_id text PRIMARY KEY,
  online boolean NOT NULL,
  agent_version text NULL,
  started_at timestamptz NULL,
  last_seen timestamptz NOT NULL
);

CREATE TABLE processed_messages (
  id uuid PRIMARY KEY,
  venue_id text NOT NULL,
  kind text NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX processed_messages_received_idx ON processed_messages (received_at);
