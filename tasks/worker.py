"""Worker and beat entry point: `celery -A tasks.worker worker|beat`."""

from bot import create_app
from tasks import celery_init_app

celery = celery_init_app(create_app())
