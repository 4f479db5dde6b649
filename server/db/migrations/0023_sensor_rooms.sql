-- Room sensors are assigned to rooms at the centre (issue 3): the box only knows the sensor.
CREATE TABLE sensor_rooms (
  sensor_id text PRIMARY KEY,
  venue_id text NOT NULL,
  room_id text NOT NULL,
  assigned_by text NULL,
  assigned_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sensor_rooms_room_idx ON sensor_rooms (room_id);
