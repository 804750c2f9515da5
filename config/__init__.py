"""The Celery app (`config.celery`) is imported only where a broker is configured.

Without CELERY_BROKER_URL (the embedded default, a web process whose events run in-process)
nothing uses Celery, and importing it costs every process ~18 MB. With a broker it is loaded
here, as Celery's Django guide does, so that `shared_task`s bind to this app in every process
that may publish. `celery -A config` finds it either way (it imports `config.celery`).
"""

import os
from typing import Any

if os.environ.get("CELERY_BROKER_URL"):  # what config.settings.base reads
    from config.celery import app as celery_app  # noqa: F401


def __getattr__(name: str) -> Any:
    if name == "celery_app":
        from config.celery import app

        return app
    raise AttributeError(f"module 'config' has no attribute {name!r}")


__all__ = ["celery_app"]
