"""A mail backend for a deployment without a mail server: each message is one log line.

Production settings use it when neither `EMAIL_HOST` nor `EMAIL_BACKEND` is set. Django's
console backend would print every message whole (headers, both MIME parts) to stdout, between
the JSON log lines (README "Logs"), and build that MIME text for nobody. Here a message is a
WARNING of `workflows.mail` naming its recipients, subject and notification kind, so an
operator sees both that mail is not configured and who would have been told what.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from django.core.mail.backends.base import BaseEmailBackend

logger = logging.getLogger("workflows.mail")


class LogEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Sequence[Any]) -> int:
        for message in email_messages:
            logger.warning(
                "mail not sent (no EMAIL_HOST): %s",
                message.subject,
                extra={
                    "to": list(message.to),
                    "kind": message.extra_headers.get("X-Workflows-Notification", ""),
                },
            )
        return len(email_messages)
