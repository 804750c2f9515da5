"""The Celery app: `celery -A config worker`. Settings come from Django's (CELERY_*).

Production settings unless DJANGO_SETTINGS_MODULE says otherwise: a worker sends webhooks and
must never run on the local settings by accident.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

app = Celery("workflows")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Request-scoped log context inside tasks (core.logging); connected with the app, not on import
# of core.logging, which must not import Celery in processes that have no broker.
from core.logging import connect_celery  # noqa: E402

connect_celery()
