"""Turns showcase stories into WeChat drafts and site pages, given a client (issue 3)."""
