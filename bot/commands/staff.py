"""`veteranbot staff ...`: (being written)."""

from __future__ import annotations

import click


@click.group("staff")
def staff():
    """Staff commands."""
