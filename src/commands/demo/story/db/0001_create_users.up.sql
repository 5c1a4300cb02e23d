CREATE TABLE users (
  id bigserial PRIMARY KEY,
  fullname text NOT NULL
);
