-- Expand: the new column is nullable, so old releases keep working.
ALTER TABLE users ADD COLUMN display_name text;
