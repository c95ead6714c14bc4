"""The 风采录 column as the bot runs it: schedule, state, WeChat port, editors, previews, site."""
