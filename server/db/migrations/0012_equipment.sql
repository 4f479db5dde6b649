-- Issue 4: equipment patrol checklists per room kind, and maintenance tickets opened by failed items.

CREATE TABLE equipment_checklist_items (
  code text PRIMARY KEY,
  -- Room kinds the item applies to; empty = every kind.
  room_kinds text[] NOT NULL,
  -- Whether a failure names a camera of the room (image, audio, clock) or the room itself.
  per_camera boolean NOT NULL,
  zh text NOT NULL,
  en text NOT NULL,
  sort integer NOT NULL DEFAULT 0
);
INSERT INTO equipment_checklist_items (code, room_kinds, per_camera, zh, en, sort) VALUES
  ('image_clear', '{}', true, '画面清晰', 'Image clear', 10),
  ('audio_present', '{bid_opening,evaluation,electronic_evaluation,remote_evaluation,expert_drawing,waiting}', true, '拾音正常', 'Audio present', 20),
  ('clock_right', '{}', true, '设备时钟准确', 'Clock right', 30),
  ('shielding_on', '{evaluation,electronic_evaluation,remote_evaluation}', false, '信号屏蔽开启', 'Signal shielding on', 40),
  ('access_control', '{evaluation,electronic_evaluation,remote_evaluation,expert_drawing}', false, '门禁正常', 'Access control working', 50),
  ('lockers', '{evaluation,electronic_evaluation,remote_evaluation}', false, '通讯工具存放柜可用', 'Phone lockers usable', 60);

CREATE TABLE equipment_checks (
  id uuid PRIMARY KEY,
  venue_id text NOT NULL REFERENCES venues(id),
  room_id text NOT NULL REFERENCES rooms(id),
  results jsonb NOT NULL,
  by_id uuid NOT NULL REFERENCES users(id),
  by_name text NOT NULL,
  at timestamptz NOT NULL
);
CREATE INDEX equipment_checks_room_idx ON equipment_checks (room_id, at);

CREATE TABLE maintenance_tickets (
  id uuid PRIMARY KEY,
  venue_id text NOT NULL REFERENCES venues(id),
  room_id text NOT NULL REFERENCES rooms(id),
  -- The failing device (a camera id) when the item is per camera; null for the room's own equipment.
  device_id text NULL,
  check_id uuid NOT NULL REFERENCES equipment_checks(id),
  item text NOT NULL REFERENCES equipment_checklist_items(code),
  note text NOT NULL,
  status text NOT NULL,
  opened_by uuid NOT NULL,
  opened_at timestamptz NOT NULL,
  started_by uuid NULL,
  started_at timestamptz NULL,
  closed_by uuid NULL,
  closed_at timestamptz NULL,
  resolution text NULL
);
CREATE INDEX maintenance_tickets_venue_idx ON maintenance_tickets (venue_id, status);
