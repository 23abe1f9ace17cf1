-- Fixed-window counters of login failures and sign-ups, per client address and per
-- username (both kept as keyed hashes), shared by every instance.
CREATE TABLE login_throttle (
    scope VARCHAR(16) NOT NULL,
    key_hash VARCHAR(64) NOT NULL,
    window_start BIGINT NOT NULL,
    hits BIGINT NOT NULL,
    PRIMARY KEY (scope, key_hash)
);
