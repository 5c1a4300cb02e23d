ALTER TABLE users ADD COLUMN fullname text;
UPDATE users SET fullname = display_name;
