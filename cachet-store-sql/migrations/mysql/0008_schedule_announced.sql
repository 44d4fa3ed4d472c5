-- How far each maintenance window's start and end have been announced
-- (`cachet_core::maintenance::Announced`: 0 nothing, 1 started, 2 completed). Windows that
-- already ended are marked completed, so an upgrade announces nothing of the past.

ALTER TABLE schedules ADD COLUMN announced BIGINT NOT NULL DEFAULT 0;
UPDATE schedules SET announced = 2
 WHERE status = 2 OR (completed_at IS NOT NULL AND completed_at <= UNIX_TIMESTAMP());
