"""`veteranbot menu ...`: (being written)."""

from __future__ import annotations

import click


@click.group("menu")
def menu():
    """The account's custom menu."""
