-- Row counts kept in the transaction of every insert and delete, so that a list's
-- X-Total-Count is a sum of a few rows instead of a scan of the table. SQLite has one
-- writer at a time: one row per count. Inserts from anywhere are counted too.
CREATE TABLE row_counts (
    scope TEXT NOT NULL,
    owner BIGINT NOT NULL,
    shard INTEGER NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (scope, owner, shard)
);

CREATE TRIGGER messages_count_insert AFTER INSERT ON messages BEGIN
    INSERT INTO row_counts (scope, owner, shard, n) VALUES ('messages', 0, 0, 1)
        ON CONFLICT (scope, owner, shard) DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER messages_count_delete AFTER DELETE ON messages BEGIN
    INSERT INTO row_counts (scope, owner, shard, n) VALUES ('messages', 0, 0, -1)
        ON CONFLICT (scope, owner, shard) DO UPDATE SET n = n + excluded.n;
END;

INSERT INTO row_counts SELECT 'messages', 0, 0, COUNT(*) FROM messages;

CREATE TRIGGER tasks_count_insert AFTER INSERT ON tasks BEGIN
    INSERT INTO row_counts (scope, owner, shard, n) VALUES ('tasks', NEW.user_id, 0, 1)
        ON CONFLICT (scope, owner, shard) DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER tasks_count_delete AFTER DELETE ON tasks BEGIN
    INSERT INTO row_counts (scope, owner, shard, n) VALUES ('tasks', OLD.user_id, 0, -1)
        ON CONFLICT (scope, owner, shard) DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER tasks_count_move_user_id AFTER UPDATE OF user_id ON tasks
    WHEN NEW.user_id IS NOT OLD.user_id BEGIN
    INSERT INTO row_counts (scope, owner, shard, n) VALUES ('tasks', OLD.user_id, 0, -1)
        ON CONFLICT (scope, owner, shard) DO UPDATE SET n = n + excluded.n;
    INSERT INTO row_counts (scope, owner, shard, n) VALUES ('tasks', NEW.user_id, 0, 1)
        ON CONFLICT (scope, owner, shard) DO UPDATE SET n = n + excluded.n;
END;

INSERT INTO row_counts SELECT 'tasks', user_id, 0, COUNT(*) FROM tasks GROUP BY user_id;

CREATE TRIGGER blog_posts_count_insert AFTER INSERT ON blog_posts BEGIN
    INSERT INTO row_counts (scope, owner, shard, n) VALUES ('blog_posts', 0, 0, 1)
        ON CONFLICT (scope, owner, shard) DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER blog_posts_count_delete AFTER DELETE ON blog_posts BEGIN
    INSERT INTO row_counts (scope, owner, shard, n) VALUES ('blog_posts', 0, 0, -1)
        ON CONFLICT (scope, owner, shard) DO UPDATE SET n = n + excluded.n;
END;

INSERT INTO row_counts SELECT 'blog_posts', 0, 0, COUNT(*) FROM blog_posts;

CREATE TRIGGER albums_count_insert AFTER INSERT ON albums BEGIN
    INSERT INTO row_counts (scope, owner, shard, n) VALUES ('albums', 0, 0, 1)
        ON CONFLICT (scope, owner, shard) DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER albums_count_delete AFTER DELETE ON albums BEGIN
    INSERT INTO row_counts (scope, owner, shard, n) VALUES ('albums', 0, 0, -1)
        ON CONFLICT (scope, owner, shard) DO UPDATE SET n = n + excluded.n;
END;

INSERT INTO row_counts SELECT 'albums', 0, 0, COUNT(*) FROM albums;

CREATE TRIGGER songs_count_insert AFTER INSERT ON songs BEGIN
    INSERT INTO row_counts (scope, owner, shard, n) VALUES ('songs', 0, 0, 1)
        ON CONFLICT (scope, owner, shard) DO UPDATE SET n = n + excluded.n;
    INSERT INTO row_counts (scope, owner, shard, n) VALUES ('songs_in_album', NEW.album_id, 0, 1)
        ON CONFLICT (scope, owner, shard) DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER songs_count_delete AFTER DELETE ON songs BEGIN
    INSERT INTO row_counts (scope, owner, shard, n) VALUES ('songs', 0, 0, -1)
        ON CONFLICT (scope, owner, shard) DO UPDATE SET n = n + excluded.n;
    INSERT INTO row_counts (scope, owner, shard, n) VALUES ('songs_in_album', OLD.album_id, 0, -1)
        ON CONFLICT (scope, owner, shard) DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER songs_count_move_album_id AFTER UPDATE OF album_id ON songs
    WHEN NEW.album_id IS NOT OLD.album_id BEGIN
    INSERT INTO row_counts (scope, owner, shard, n) VALUES ('songs_in_album', OLD.album_id, 0, -1)
        ON CONFLICT (scope, owner, shard) DO UPDATE SET n = n + excluded.n;
    INSERT INTO row_counts (scope, owner, shard, n) VALUES ('songs_in_album', NEW.album_id, 0, 1)
        ON CONFLICT (scope, owner, shard) DO UPDATE SET n = n + excluded.n;
END;

INSERT INTO row_counts SELECT 'songs', 0, 0, COUNT(*) FROM songs;

INSERT INTO row_counts SELECT 'songs_in_album', album_id, 0, COUNT(*) FROM songs GROUP BY album_id;

CREATE TRIGGER song_likes_count_insert AFTER INSERT ON song_likes BEGIN
    INSERT INTO row_counts (scope, owner, shard, n) VALUES ('song_likes', NEW.user_id, 0, 1)
        ON CONFLICT (scope, owner, shard) DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER song_likes_count_delete AFTER DELETE ON song_likes BEGIN
    INSERT INTO row_counts (scope, owner, shard, n) VALUES ('song_likes', OLD.user_id, 0, -1)
        ON CONFLICT (scope, owner, shard) DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER song_likes_count_move_user_id AFTER UPDATE OF user_id ON song_likes
    WHEN NEW.user_id IS NOT OLD.user_id BEGIN
    INSERT INTO row_counts (scope, owner, shard, n) VALUES ('song_likes', OLD.user_id, 0, -1)
        ON CONFLICT (scope, owner, shard) DO UPDATE SET n = n + excluded.n;
    INSERT INTO row_counts (scope, owner, shard, n) VALUES ('song_likes', NEW.user_id, 0, 1)
        ON CONFLICT (scope, owner, shard) DO UPDATE SET n = n + excluded.n;
END;

INSERT INTO row_counts SELECT 'song_likes', user_id, 0, COUNT(*) FROM song_likes GROUP BY user_id;
