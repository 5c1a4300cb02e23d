-- Backfill in the overlap window; a data change, not a schema change.
UPDATE users SET display_name = fullname WHERE display_name IS NULL;
