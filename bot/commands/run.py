"""`veteranbot run`: (being written)."""

from __future__ import annotations

import click


@click.command("run")
def run():
    """Start the web app, a Celery worker and beat on this machine."""
    raise click.ClickException("not written yet")
