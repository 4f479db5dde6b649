-- The session list reads sessions by planned time across every room (newest first, bounded):
-- bid_sessions_room_idx leads with the room, so without this the city's list scans every session.
CREATE INDEX bid_sessions_start_idx ON bid_sessions (planned_start);
