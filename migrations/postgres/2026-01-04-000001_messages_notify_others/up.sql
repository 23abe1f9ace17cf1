-- A NOTIFY in a transaction holds a database-wide lock from before its commit until
-- the commit is on disk, so inserts that notify commit one at a time: it halved the
-- rate of posting. Hearth's own connections (`hearth.announces = on`) now announce
-- their inserts after the commit, in batches, from one connection per instance that
-- does not wait for the disk. Inserts from anywhere else (psql, another program)
-- still notify from this trigger.
DROP TRIGGER messages_notify ON messages;

CREATE TRIGGER messages_notify AFTER INSERT ON messages
    FOR EACH ROW
    WHEN (current_setting('hearth.announces', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION hearth_notify_message();
