-- An alert's message in Chinese beside the English one: the dashboard is Chinese by default and
-- the technician reads what to fix there. Alerts raised before this column stay English only.
ALTER TABLE device_alerts ADD COLUMN message_zh text;
