DROP TABLE song_likes;
DROP TABLE songs;
DROP TABLE albums;
