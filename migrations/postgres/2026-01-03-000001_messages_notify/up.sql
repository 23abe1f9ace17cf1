-- Every new message is announced to the instances' stream listeners in the
-- inserting transaction itself: no extra round trip, and inserts from anywhere
-- (the API, the admin, psql) reach stream clients.
CREATE FUNCTION hearth_notify_message() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('hearth_messages', NEW.id::text);
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER messages_notify AFTER INSERT ON messages
    FOR EACH ROW EXECUTE FUNCTION hearth_notify_message();
