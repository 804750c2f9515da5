"""Which PostgreSQL role the process works as, and the check that refuses a privileged login.

Every new connection switches to the application role (`SET ROLE`, `DB_APP_ROLE`) before it
serves anything, so row-level security applies from the first query, whatever login
`DATABASE_URL` names; `core.tenancy.set_db_context` then picks the application or the platform
role per transaction. Then it checks what it connected as: a superuser or BYPASSRLS login would
let a single `RESET ROLE` undo every wall, so the process refuses to work unless
`DB_ALLOW_SUPERUSER` says so explicitly (the test suite and the benchmark, which create their
databases, do; nothing else should).

Migrations run as the owner: `manage.py migrate` (ours, in `core/management/commands`) turns the
switch off for its process with `owner_mode()`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.backends.base.base import NO_DB_ALIAS

from core.rls import app_role

logger = logging.getLogger("workflows.db")

_owner_mode = False


@contextmanager
def owner_mode() -> Iterator[None]:
    """Connections opened inside work as the login itself (the owner), e.g. for migrations."""
    global _owner_mode
    previous, _owner_mode = _owner_mode, True
    try:
        yield
    finally:
        _owner_mode = previous


def in_owner_mode() -> bool:
    return _owner_mode


ROLE_CHECK = (
    "SELECT s.rolname, s.rolsuper OR s.rolbypassrls, c.rolname, c.rolsuper OR c.rolbypassrls"
    " FROM pg_roles s, pg_roles c WHERE s.rolname = session_user AND c.rolname = current_user"
)


def switch_to_app_role(sender: Any, connection: Any, **kwargs: Any) -> None:
    """`connection_created` receiver: SET ROLE, then refuse a privileged login."""
    if connection.vendor != "postgresql" or _owner_mode:
        return
    if getattr(connection, "alias", None) == NO_DB_ALIAS:
        # Django's maintenance connection (to the `postgres` database: creating and dropping
        # a test database under Django's own test runner); it reads no table of ours.
        return
    role = app_role()
    with connection.cursor() as cursor:
        try:
            cursor.execute(f'SET ROLE "{role}"')
        except Exception as exc:  # noqa: BLE001  (Django's or the driver's, same advice)
            raise ImproperlyConfigured(
                f"Cannot SET ROLE {role} on connect ({exc}). The login in DATABASE_URL must be "
                f"a member of {role}; `manage.py migrate`, run as the database owner, creates it."
            ) from exc
        cursor.execute(ROLE_CHECK)
        login, login_privileged, current, current_privileged = cursor.fetchone()
    if current_privileged:
        raise ImproperlyConfigured(
            f"DB_APP_ROLE {current} is a superuser or has BYPASSRLS: row-level security would "
            "not apply. Use the role the migrations create (workflows_app)."
        )
    if login_privileged and not getattr(settings, "DB_ALLOW_SUPERUSER", False):
        raise ImproperlyConfigured(
            f"The database login {login} (DATABASE_URL) is a superuser or has BYPASSRLS: "
            "refusing to serve, since it could leave the application role and read every "
            f"tenant. Connect as a login that is a member of {role} (see the README, "
            "'Tenant isolation'), or set DB_ALLOW_SUPERUSER = True in the settings (this "
            "repository's read DB_ALLOW_SUPERUSER=1 from the environment) to accept the risk."
        )
