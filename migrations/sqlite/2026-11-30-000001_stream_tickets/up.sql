-- Single-use tickets that open /api/messages/stream where no header can be sent
-- (a browser's EventSource). Times are Unix seconds.
CREATE TABLE stream_tickets (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    key_hash VARCHAR(64) NOT NULL UNIQUE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    login_id BIGINT,
    auth_version BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    token_hash VARCHAR(64),
    stream_until BIGINT
);
