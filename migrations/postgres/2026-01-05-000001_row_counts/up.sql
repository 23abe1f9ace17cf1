-- Row counts kept by the database in the transaction of every insert and delete, so
-- that a list's X-Total-Count is a sum of a few rows instead of a scan of the table
-- (a million messages took 4 ms a page to count). Each connection adds to a shard
-- of its own (its backend pid modulo 16): concurrent writers never wait on one hot
-- counter row. The triggers run once per statement over its transition table: a
-- row-level trigger updated one counter row once per row, and a million-row insert
-- then walked a million row versions per update. Inserts from anywhere (psql, an
-- import) are counted the same way.
CREATE TABLE row_counts (
    scope TEXT NOT NULL,
    owner BIGINT NOT NULL,
    shard INTEGER NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (scope, owner, shard)
);

CREATE FUNCTION hearth_count(TEXT, BIGINT, INTEGER) RETURNS void LANGUAGE sql AS $$
    INSERT INTO row_counts AS c (scope, owner, shard, n)
    VALUES ($1, $2, pg_backend_pid() % 16, $3)
    ON CONFLICT (scope, owner, shard) DO UPDATE SET n = c.n + EXCLUDED.n
$$;

-- TRUNCATE fires no row trigger: it empties the counts of the scopes it names.
CREATE FUNCTION hearth_count_reset() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM row_counts WHERE scope = ANY (TG_ARGV);
    RETURN NULL;
END
$$;

CREATE FUNCTION messages_count_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO row_counts AS c (scope, owner, shard, n)
    SELECT 'messages', 0, pg_backend_pid() % 16, COUNT(*)::int FROM new_rows HAVING COUNT(*) > 0
    ON CONFLICT (scope, owner, shard) DO UPDATE SET n = c.n + EXCLUDED.n;
    RETURN NULL;
END
$$;
CREATE TRIGGER messages_count_insert AFTER INSERT ON messages
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION messages_count_insert();

CREATE FUNCTION messages_count_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO row_counts AS c (scope, owner, shard, n)
    SELECT 'messages', 0, pg_backend_pid() % 16, -COUNT(*)::int FROM old_rows HAVING COUNT(*) > 0
    ON CONFLICT (scope, owner, shard) DO UPDATE SET n = c.n + EXCLUDED.n;
    RETURN NULL;
END
$$;
CREATE TRIGGER messages_count_delete AFTER DELETE ON messages
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION messages_count_delete();

CREATE TRIGGER messages_count_reset AFTER TRUNCATE ON messages
    FOR EACH STATEMENT EXECUTE FUNCTION hearth_count_reset('messages');

INSERT INTO row_counts SELECT 'messages', 0, 0, COUNT(*)::int FROM messages;

CREATE FUNCTION tasks_count_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO row_counts AS c (scope, owner, shard, n)
    SELECT 'tasks', user_id, pg_backend_pid() % 16, COUNT(*)::int FROM new_rows GROUP BY user_id
    ON CONFLICT (scope, owner, shard) DO UPDATE SET n = c.n + EXCLUDED.n;
    RETURN NULL;
END
$$;
CREATE TRIGGER tasks_count_insert AFTER INSERT ON tasks
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION tasks_count_insert();

CREATE FUNCTION tasks_count_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO row_counts AS c (scope, owner, shard, n)
    SELECT 'tasks', user_id, pg_backend_pid() % 16, -COUNT(*)::int FROM old_rows GROUP BY user_id
    ON CONFLICT (scope, owner, shard) DO UPDATE SET n = c.n + EXCLUDED.n;
    RETURN NULL;
END
$$;
CREATE TRIGGER tasks_count_delete AFTER DELETE ON tasks
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION tasks_count_delete();

-- an owner change is rare: row by row
CREATE FUNCTION tasks_count_move_user_id() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.user_id IS DISTINCT FROM OLD.user_id THEN
        PERFORM hearth_count('tasks', OLD.user_id, -1);
        PERFORM hearth_count('tasks', NEW.user_id, 1);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER tasks_count_move_user_id AFTER UPDATE OF user_id ON tasks
    FOR EACH ROW EXECUTE FUNCTION tasks_count_move_user_id();

CREATE TRIGGER tasks_count_reset AFTER TRUNCATE ON tasks
    FOR EACH STATEMENT EXECUTE FUNCTION hearth_count_reset('tasks');

INSERT INTO row_counts SELECT 'tasks', user_id, 0, COUNT(*)::int FROM tasks GROUP BY user_id;

CREATE FUNCTION blog_posts_count_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO row_counts AS c (scope, owner, shard, n)
    SELECT 'blog_posts', 0, pg_backend_pid() % 16, COUNT(*)::int FROM new_rows HAVING COUNT(*) > 0
    ON CONFLICT (scope, owner, shard) DO UPDATE SET n = c.n + EXCLUDED.n;
    RETURN NULL;
END
$$;
CREATE TRIGGER blog_posts_count_insert AFTER INSERT ON blog_posts
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION blog_posts_count_insert();

CREATE FUNCTION blog_posts_count_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO row_counts AS c (scope, owner, shard, n)
    SELECT 'blog_posts', 0, pg_backend_pid() % 16, -COUNT(*)::int FROM old_rows HAVING COUNT(*) > 0
    ON CONFLICT (scope, owner, shard) DO UPDATE SET n = c.n + EXCLUDED.n;
    RETURN NULL;
END
$$;
CREATE TRIGGER blog_posts_count_delete AFTER DELETE ON blog_posts
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION blog_posts_count_delete();

CREATE TRIGGER blog_posts_count_reset AFTER TRUNCATE ON blog_posts
    FOR EACH STATEMENT EXECUTE FUNCTION hearth_count_reset('blog_posts');

INSERT INTO row_counts SELECT 'blog_posts', 0, 0, COUNT(*)::int FROM blog_posts;

CREATE FUNCTION albums_count_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO row_counts AS c (scope, owner, shard, n)
    SELECT 'albums', 0, pg_backend_pid() % 16, COUNT(*)::int FROM new_rows HAVING COUNT(*) > 0
    ON CONFLICT (scope, owner, shard) DO UPDATE SET n = c.n + EXCLUDED.n;
    RETURN NULL;
END
$$;
CREATE TRIGGER albums_count_insert AFTER INSERT ON albums
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION albums_count_insert();

CREATE FUNCTION albums_count_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO row_counts AS c (scope, owner, shard, n)
    SELECT 'albums', 0, pg_backend_pid() % 16, -COUNT(*)::int FROM old_rows HAVING COUNT(*) > 0
    ON CONFLICT (scope, owner, shard) DO UPDATE SET n = c.n + EXCLUDED.n;
    RETURN NULL;
END
$$;
CREATE TRIGGER albums_count_delete AFTER DELETE ON albums
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION albums_count_delete();

CREATE TRIGGER albums_count_reset AFTER TRUNCATE ON albums
    FOR EACH STATEMENT EXECUTE FUNCTION hearth_count_reset('albums');

INSERT INTO row_counts SELECT 'albums', 0, 0, COUNT(*)::int FROM albums;

CREATE FUNCTION songs_count_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO row_counts AS c (scope, owner, shard, n)
    SELECT 'songs', 0, pg_backend_pid() % 16, COUNT(*)::int FROM new_rows HAVING COUNT(*) > 0
    ON CONFLICT (scope, owner, shard) DO UPDATE SET n = c.n + EXCLUDED.n;
    INSERT INTO row_counts AS c (scope, owner, shard, n)
    SELECT 'songs_in_album', album_id, pg_backend_pid() % 16, COUNT(*)::int FROM new_rows GROUP BY album_id
    ON CONFLICT (scope, owner, shard) DO UPDATE SET n = c.n + EXCLUDED.n;
    RETURN NULL;
END
$$;
CREATE TRIGGER songs_count_insert AFTER INSERT ON songs
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION songs_count_insert();

CREATE FUNCTION songs_count_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO row_counts AS c (scope, owner, shard, n)
    SELECT 'songs', 0, pg_backend_pid() % 16, -COUNT(*)::int FROM old_rows HAVING COUNT(*) > 0
    ON CONFLICT (scope, owner, shard) DO UPDATE SET n = c.n + EXCLUDED.n;
    INSERT INTO row_counts AS c (scope, owner, shard, n)
    SELECT 'songs_in_album', album_id, pg_backend_pid() % 16, -COUNT(*)::int FROM old_rows GROUP BY album_id
    ON CONFLICT (scope, owner, shard) DO UPDATE SET n = c.n + EXCLUDED.n;
    RETURN NULL;
END
$$;
CREATE TRIGGER songs_count_delete AFTER DELETE ON songs
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION songs_count_delete();

-- an owner change is rare: row by row
CREATE FUNCTION songs_count_move_album_id() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.album_id IS DISTINCT FROM OLD.album_id THEN
        PERFORM hearth_count('songs_in_album', OLD.album_id, -1);
        PERFORM hearth_count('songs_in_album', NEW.album_id, 1);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER songs_count_move_album_id AFTER UPDATE OF album_id ON songs
    FOR EACH ROW EXECUTE FUNCTION songs_count_move_album_id();

CREATE TRIGGER songs_count_reset AFTER TRUNCATE ON songs
    FOR EACH STATEMENT EXECUTE FUNCTION hearth_count_reset('songs', 'songs_in_album');

INSERT INTO row_counts SELECT 'songs', 0, 0, COUNT(*)::int FROM songs;

INSERT INTO row_counts SELECT 'songs_in_album', album_id, 0, COUNT(*)::int FROM songs GROUP BY album_id;

CREATE FUNCTION song_likes_count_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO row_counts AS c (scope, owner, shard, n)
    SELECT 'song_likes', user_id, pg_backend_pid() % 16, COUNT(*)::int FROM new_rows GROUP BY user_id
    ON CONFLICT (scope, owner, shard) DO UPDATE SET n = c.n + EXCLUDED.n;
    RETURN NULL;
END
$$;
CREATE TRIGGER song_likes_count_insert AFTER INSERT ON song_likes
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION song_likes_count_insert();

CREATE FUNCTION song_likes_count_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO row_counts AS c (scope, owner, shard, n)
    SELECT 'song_likes', user_id, pg_backend_pid() % 16, -COUNT(*)::int FROM old_rows GROUP BY user_id
    ON CONFLICT (scope, owner, shard) DO UPDATE SET n = c.n + EXCLUDED.n;
    RETURN NULL;
END
$$;
CREATE TRIGGER song_likes_count_delete AFTER DELETE ON song_likes
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION song_likes_count_delete();

-- an owner change is rare: row by row
CREATE FUNCTION song_likes_count_move_user_id() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.user_id IS DISTINCT FROM OLD.user_id THEN
        PERFORM hearth_count('song_likes', OLD.user_id, -1);
        PERFORM hearth_count('song_likes', NEW.user_id, 1);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER song_likes_count_move_user_id AFTER UPDATE OF user_id ON song_likes
    FOR EACH ROW EXECUTE FUNCTION song_likes_count_move_user_id();

CREATE TRIGGER song_likes_count_reset AFTER TRUNCATE ON song_likes
    FOR EACH STATEMENT EXECUTE FUNCTION hearth_count_reset('song_likes');

INSERT INTO row_counts SELECT 'song_likes', user_id, 0, COUNT(*)::int FROM song_likes GROUP BY user_id;
