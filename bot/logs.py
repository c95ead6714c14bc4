"""Log setup for the entry points: the `veteranbot` command and gunicorn (Celery sets its own).

create_app configures nothing global, so importing or building the app in a test
or a script never changes how the host process logs.
"""

from __future__ import annotations

import logging

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure(level: str | int = "INFO") -> None:
    """Send this process's log records to stderr at level, in the project's format."""
    logging.basicConfig(level=level, format=FORMAT)
    # Alembic narrates each migration and plugin at INFO; `veteranbot run` and
    # `db upgrade` say in one line where the schema ended up instead.
    logging.getLogger("alembic").setLevel(max(logging.WARNING, logging.getLogger().level))
