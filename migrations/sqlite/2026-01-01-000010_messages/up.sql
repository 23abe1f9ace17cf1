-- Seed 000's messages, oldest first by id.
CREATE TABLE messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    sender_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    text VARCHAR(4000) NOT NULL,
    "timestamp" TIMESTAMP NOT NULL
);
CREATE INDEX messages_sender_id ON messages (sender_id);
