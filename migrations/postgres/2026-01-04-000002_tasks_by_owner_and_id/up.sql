-- An owner's page of tasks is read in id order straight from the index, and counted
-- from it, instead of fetching all of the owner's rows and sorting them: with
-- statistics not yet gathered, 100k tasks of one owner made a page take 55 ms.
-- (SQLite's index on user_id already holds the rowid, which is the id.)
CREATE INDEX tasks_user_id_id ON tasks (user_id, id);
DROP INDEX tasks_user_id;
