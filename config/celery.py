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
