#!/usr/bin/env python
"""Django's command-line utility for administrative tasks.

Without DJANGO_SETTINGS_MODULE it uses the local settings, for a developer's checkout (their key
is made per install under var/; DEBUG and private webhooks stay off unless `make run` turns them
on), and says so on stderr. A deployment names its settings.
"""

import os
import sys


def main() -> None:
    if not os.environ.get("DJANGO_SETTINGS_MODULE"):
        os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.local"
        print(
            "manage.py: DJANGO_SETTINGS_MODULE is not set: using config.settings.local "
            "(development; production: DJANGO_SETTINGS_MODULE=config.settings.production)",
            file=sys.stderr,
        )
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
