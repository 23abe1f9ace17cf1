DROP TABLE blog_posts;
