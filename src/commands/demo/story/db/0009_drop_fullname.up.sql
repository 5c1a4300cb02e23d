-- Contract: no running release reads fullname any more.
ALTER TABLE users DROP COLUMN fullname;
