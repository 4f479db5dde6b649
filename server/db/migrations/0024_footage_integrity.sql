-- Issue 5: each venue box's manifest-signing key, pinned at first contact over the authenticated
-- MQTT link, and the signed footage manifests the centre verified.
CREATE TABLE agent_keys (
  venue_id text PRIMARY KEY,
  key_id text NOT NULL,
  public_key text NOT NULL,
  pinned_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE footage_manifests (
  venue_id text NOT NULL,
  camera_id text NOT NULL,
  period_start timestamptz NOT NULL,
  key_id text NOT NULL,
  chain_head text NOT NULL,
  segments integer NOT NULL,
  manifest text NOT NULL,
  verified_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (camera_id, period_start)
);
