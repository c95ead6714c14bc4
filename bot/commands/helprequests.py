"""`veteranbot requests ...`: (being written)."""

from __future__ import annotations

import click


@click.group("requests")
def requests_group():
    """Help-request exports."""
