"""`veteranbot ledger ...`: (being written)."""

from __future__ import annotations

import click


@click.group("ledger")
def ledger():
    """Ledger (台账) exports."""
