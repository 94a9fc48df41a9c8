-- 004: login sessions that survive a browser reload. Only a SHA-256 of the random token is kept;
-- the token itself lives in the browser's cookie. A leaf table: nothing references it.
CREATE TABLE login_sessions (
    token_hash    VARCHAR PRIMARY KEY,
    user_id       INTEGER NOT NULL,             -- no FK: users must stay updatable (see 001)
    created_at    TIMESTAMPTZ NOT NULL,
    last_seen_at  TIMESTAMPTZ NOT NULL,
    expires_at    TIMESTAMPTZ NOT NULL
);
