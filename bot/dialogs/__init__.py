"""Conversations with veterans and staff: one module per dialog, state in Redis."""
