CREATE INDEX tasks_user_id ON tasks (user_id);
DROP INDEX tasks_user_id_id;
