"""Everything that speaks WeChat: the webhook, the API client, deduplication."""
