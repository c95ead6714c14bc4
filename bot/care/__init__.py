"""Care for registered veterans: the holiday calendar, greetings, contacts and staff reminders."""
