"""Task bodies for the bot: thin wrappers that take IDs and call into `bot`."""
