"""`veteranbot stations ...`: (being written)."""

from __future__ import annotations

import click


@click.group("stations")
def stations():
    """Station directory commands."""
