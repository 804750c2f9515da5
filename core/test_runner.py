"""`python manage.py test workflows.tests` hands over to pytest, so the seed's command works."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any


class PytestRunner:
    def __init__(
        self, verbosity: int = 1, failfast: bool = False, keepdb: bool = False, **kwargs: Any
    ) -> None:
        self.verbosity = verbosity
        self.failfast = failfast
        self.keepdb = keepdb

    def run_tests(self, test_labels: list[str], **kwargs: Any) -> int:
        argv: list[str] = []
        if self.verbosity == 0:
            argv.append("-q")
        elif self.verbosity > 1:
            argv.append("-v")
        if self.failfast:
            argv.append("--exitfirst")
        for label in test_labels:
            # "workflows.tests" or "workflows.tests.test_api.WorkflowAPITest" -> a path pytest knows
            parts = label.split(".")
            path = os.path.join(*parts)
            if os.path.isdir(path) or os.path.exists(path + ".py"):
                argv.append(path if os.path.isdir(path) else path + ".py")
            else:
                for i in range(len(parts) - 1, 0, -1):
                    module = os.path.join(*parts[:i]) + ".py"
                    if os.path.exists(module):
                        argv.append(module + "::" + "::".join(parts[i:]))
                        break
                else:
                    argv.append(label)
        # A child process: this one has already configured Django with other settings.
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
        sys.stdout.flush()
        return subprocess.call([sys.executable, "-m", "pytest", *argv], env=env)  # noqa: S603
