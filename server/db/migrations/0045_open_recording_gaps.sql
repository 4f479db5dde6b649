-- Issue 5: a gap is a row while it is still going on. An open gap has no upper bound
-- (upper_inf(span)); the box sends the same id again when it closes, which sets the bound once
-- (a closed gap is final). updated_at says when the centre last heard of the row.
ALTER TABLE recording_gaps ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
CREATE INDEX recording_gaps_open ON recording_gaps (camera_id, kind) WHERE upper_inf(span);
