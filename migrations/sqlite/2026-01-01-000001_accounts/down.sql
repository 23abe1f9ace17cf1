DROP TABLE api_tokens;
DROP TABLE refresh_tokens;
DROP TABLE logins;
DROP TABLE users;
