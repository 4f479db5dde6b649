-- Issue 5: a period may have supplementary manifests (segments catalogued at the box after the
-- period was signed). part 0 = the period's first manifest, n = its n-th supplement.
ALTER TABLE footage_manifests ADD COLUMN part integer NOT NULL DEFAULT 0;
ALTER TABLE footage_manifests DROP CONSTRAINT footage_manifests_pkey;
ALTER TABLE footage_manifests ADD PRIMARY KEY (camera_id, period_start, part);
