"""`veteranbot veterans ...`: (being written)."""

from __future__ import annotations

import click


@click.group("veterans")
def veterans():
    """Veteran ledger commands."""
