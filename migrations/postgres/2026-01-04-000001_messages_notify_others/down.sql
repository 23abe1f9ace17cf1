DROP TRIGGER messages_notify ON messages;

CREATE TRIGGER messages_notify AFTER INSERT ON messages
    FOR EACH ROW EXECUTE FUNCTION hearth_notify_message();
