DROP TRIGGER messages_notify ON messages;
DROP FUNCTION hearth_notify_message();
