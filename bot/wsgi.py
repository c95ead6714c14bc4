"""gunicorn's entry point: `gunicorn bot.wsgi:app` (the Procfile and `veteranbot run`)."""

from bot import create_app, logs
from bot.config import read_environment

logs.configure(read_environment()["LOG_LEVEL"])
app = create_app()
