"""Veterans' records: identity, files, consent, the station directory, exports, imports."""
