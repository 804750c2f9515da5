"""WSGI entry point (`gunicorn config.wsgi`): production settings unless told otherwise.

Never the local settings by default: production refuses to start without its own secret key,
hosts, database and Redis, naming what is missing.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
application = get_wsgi_application()
