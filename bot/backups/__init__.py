"""Backups of the database: dumped consistently, sealed so they can sit on ordinary storage."""
