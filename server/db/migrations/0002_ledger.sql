-- Issue 4: the audit trail, the patrol issue ledger (巡场问题台账) and its categories.

-- Append-only, hash-chained: hash = SHA-256(prev_hash || canonical row content), computed by the
-- centre under an advisory lock (server/services/audit.ts). The trigger refuses UPDATE and DELETE
-- from the application; someone who disables it is caught by `npm run verify -- --audit`.
CREATE TABLE audit_log (
  seq bigint PRIMARY KEY,
  at timestamptz NOT NULL,
  actor_id uuid NULL,
  actor text NOT NULL,
  action text NOT NULL,
  venue_id text NULL,
  subject_type text NOT NULL,
  subject_id text NOT NULL,
  detail jsonb NOT NULL,
  prev_hash text NOT NULL,
  hash text NOT NULL
);
CREATE INDEX audit_log_subject_idx ON audit_log (subject_type, subject_id);
CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();

CREATE TABLE ledger_categories (
  code text PRIMARY KEY,
  subject_type text NOT NULL,
  zh text NOT NULL,
  en text NOT NULL,
  active boolean NOT NULL DEFAULT true,
  sort integer NOT NULL DEFAULT 0
);
INSERT INTO ledger_categories (code, subject_type, zh, en, sort) VALUES
  ('expert_phone', 'expert', '评标区携带或使用手机', 'Phone brought into or used in the evaluation area', 10),
  ('expert_late_absent', 'expert', '迟到或缺席', 'Late or absent', 11),
  ('expert_substitute', 'expert', '替考代评（他人代为出席）', 'Substitute attending', 12),
  ('expert_leave_early', 'expert', '中途早退', 'Leaving early', 13),
  ('expert_private_contact', 'expert', '私下接触投标人或收受礼品', 'Private contact with bidders or accepting gifts', 14),
  ('expert_leak', 'expert', '泄露评审信息', 'Leaking information', 15),
  ('expert_no_recusal', 'expert', '应回避未回避', 'Not recusing', 16),
  ('expert_scoring_rules', 'expert', '未按评分标准评审', 'Not following the scoring rules', 17),
  ('expert_refuse_sign', 'expert', '拒绝签字且不书面说明理由', 'Refusing to sign without written reasons', 18),
  ('expert_drinking', 'expert', '评标前饮酒', 'Drinking before evaluation', 19),
  ('expert_biased', 'expert', '发表倾向性言论', 'Biased statements', 20),
  ('agency_in_eval_area', 'agency', '代理人员滞留评标区', 'Agency staff staying in the evaluation area', 30),
  ('agency_room_booking', 'agency', '场地预约不规范', 'Wrong or irregular room booking', 31),
  ('agency_procedure', 'agency', '未按现场流程组织', 'Not following the on-site procedure', 32),
  ('bidder_contact_expert', 'bidder', '投标人接触评审专家', 'Bidder contact with experts', 40),
  ('bidder_restricted_area', 'bidder', '进入限制区域', 'Entering a restricted area', 41),
  ('bidder_disorder', 'bidder', '扰乱开标秩序', 'Disorder in the opening room', 42),
  ('any_smoking', 'staff', '吸烟', 'Smoking', 50),
  ('any_noise', 'staff', '大声喧哗', 'Noise', 51),
  ('any_unregistered', 'staff', '未登记人员进入管控区域', 'Unregistered person in a controlled area', 52),
  ('equipment_camera', 'equipment', '摄像机离线或画面模糊', 'Camera offline or blurred', 60),
  ('equipment_audio', 'equipment', '拾音缺失', 'Audio missing', 61),
  ('equipment_access_shielding', 'equipment', '门禁或信号屏蔽失效', 'Access control or shielding down', 62),
  ('equipment_clock', 'equipment', '设备时钟错误', 'Clock wrong', 63);

-- Gap-free numbering: the counter row is locked by the UPDATE inside the entry's transaction, so
-- concurrent saves queue and a rolled-back save gives its number back.
CREATE TABLE ledger_counters (
  venue_id text NOT NULL,
  year integer NOT NULL,
  last integer NOT NULL,
  PRIMARY KEY (venue_id, year)
);

CREATE TABLE ledger_entries (
  id uuid PRIMARY KEY,
  venue_id text NOT NULL REFERENCES venues(id),
  year integer NOT NULL,
  seq integer NOT NULL,
  number text NOT NULL,
  client_key text NOT NULL,
  room_id text NOT NULL REFERENCES rooms(id),
  found_at timestamptz NOT NULL,
  session_id uuid NULL REFERENCES bid_sessions(id),
  project_code text NULL,
  project_name text NULL,
  subject_type text NOT NULL,
  subject_name text NOT NULL,
  category text NOT NULL REFERENCES ledger_categories(code),
  description text NOT NULL,
  status text NOT NULL,
  reporter_id uuid NOT NULL REFERENCES users(id),
  reporter_name text NOT NULL,
  revision integer NOT NULL DEFAULT 1,
  footage_from timestamptz NOT NULL,
  footage_to timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (venue_id, year, seq),
  UNIQUE (reporter_id, client_key)
);
CREATE INDEX ledger_entries_venue_idx ON ledger_entries (venue_id, found_at);
CREATE INDEX ledger_entries_status_idx ON ledger_entries (status);

-- Every version of an entry's editable fields, the first included: corrections never overwrite.
CREATE TABLE ledger_revisions (
  entry_id uuid NOT NULL REFERENCES ledger_entries(id),
  revision integer NOT NULL,
  fields jsonb NOT NULL,
  reason text NOT NULL,
  by_id uuid NOT NULL,
  by_name text NOT NULL,
  at timestamptz NOT NULL,
  PRIMARY KEY (entry_id, revision)
);

CREATE TABLE ledger_steps (
  id uuid PRIMARY KEY,
  entry_id uuid NOT NULL REFERENCES ledger_entries(id),
  action text NOT NULL,
  from_status text NOT NULL,
  to_status text NOT NULL,
  data jsonb NOT NULL,
  by_id uuid NOT NULL,
  by_name text NOT NULL,
  at timestamptz NOT NULL
);
CREATE INDEX ledger_steps_entry_idx ON ledger_steps (entry_id, at);

CREATE TABLE ledger_photos (
  id uuid PRIMARY KEY,
  entry_id uuid NOT NULL REFERENCES ledger_entries(id),
  content_type text NOT NULL,
  bytes integer NOT NULL,
  sha256 text NOT NULL,
  data bytea NOT NULL,
  by_id uuid NOT NULL,
  at timestamptz NOT NULL,
  UNIQUE (entry_id, sha256)
);
