"""The Celery app: `celery -A config worker`. Settings come from Django's (CELERY_*)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("workflows")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
