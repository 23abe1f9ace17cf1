CREATE TABLE albums (
    id BIGSERIAL PRIMARY KEY,
    name VARCHAR(200) NOT NULL,
    artist VARCHAR(100) NOT NULL,
    year_released DATE NOT NULL
);

CREATE TABLE songs (
    id BIGSERIAL PRIMARY KEY,
    song_name VARCHAR(100) NOT NULL,
    album_id BIGINT NOT NULL REFERENCES albums (id) ON DELETE CASCADE,
    num_streams BIGINT NOT NULL CHECK (num_streams >= 0)
);
CREATE INDEX songs_album_id ON songs (album_id);

-- One like per user and song: the constraint settles two simultaneous likes.
CREATE TABLE song_likes (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    song_id BIGINT NOT NULL REFERENCES songs (id) ON DELETE CASCADE,
    UNIQUE (user_id, song_id)
);
CREATE INDEX song_likes_song_id ON song_likes (song_id);
