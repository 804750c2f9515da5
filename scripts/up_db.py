"""`make up`'s database steps, as the owner login in DATABASE_URL (scripts/up.sh calls it).

    up_db.py database          create the database if it is missing
    up_db.py logins VAR_DIR    the web and worker logins (after migrate, which makes the roles);
                               prints WEB_DATABASE_URL=... and WORKER_DATABASE_URL=... lines

The logins are the README's (Tenant isolation, "Production"): the web login is a member of
workflows_app only, the worker login of workflows_platform; neither is a superuser nor has
BYPASSRLS. Their passwords come from UP_WEB_PASSWORD and UP_WORKER_PASSWORD (compose.yaml), else
are made once per var directory (VAR_DIR/db_logins, mode 0600); they are set on every run, so
password authentication works as well as loopback trust.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
from psycopg import sql


def owner_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit(f"make up needs a PostgreSQL DATABASE_URL, not {url!r}")
    return url


def with_db(url: str, dbname: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + dbname))


def with_login(url: str, user: str, password: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{host}{port}"
    return urlunsplit(parts._replace(netloc=netloc))


def ensure_database() -> None:
    url = owner_url()
    name = urlsplit(url).path.lstrip("/")
    if not name:
        sys.exit("DATABASE_URL names no database")
    with psycopg.connect(with_db(url, "postgres"), autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            return
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        print(f"created database {name}", file=sys.stderr)


def passwords(var_dir: Path) -> dict[str, str]:
    given = {k: os.environ.get(f"UP_{k.upper()}_PASSWORD", "") for k in ("web", "worker")}
    if all(given.values()):
        return given
    path = var_dir / "db_logins"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump({"web": secrets.token_urlsafe(24), "worker": secrets.token_urlsafe(24)}, f)
    return json.loads(path.read_text())


def ensure_logins(var_dir: Path) -> None:
    url = owner_url()
    app = os.environ.get("DB_APP_ROLE", "workflows_app")
    platform = os.environ.get("DB_PLATFORM_ROLE", "workflows_platform")
    logins = {
        "web": (os.environ.get("UP_WEB_LOGIN", "workflows_web"), app),
        "worker": (os.environ.get("UP_WORKER_LOGIN", "workflows_worker"), platform),
    }
    secret = passwords(var_dir)
    with psycopg.connect(url, autocommit=True) as conn:
        for key, (login, role) in logins.items():
            ident = sql.Identifier(login)
            # Roles are per cluster: another make up (or a test) may create the same at once.
            conn.execute(
                sql.SQL(
                    "DO $$ BEGIN CREATE ROLE {} LOGIN NOSUPERUSER NOBYPASSRLS;"
                    " EXCEPTION WHEN duplicate_object THEN NULL; END $$"
                ).format(ident)
            )
            conn.execute(
                sql.SQL("ALTER ROLE {} LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD {}").format(
                    ident, sql.Literal(secret[key])
                )
            )
            conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(role), ident))
            print(f"{key.upper()}_DATABASE_URL={with_login(url, login, secret[key])}")


if __name__ == "__main__":
    if sys.argv[1:] == ["database"]:
        ensure_database()
    elif len(sys.argv) == 3 and sys.argv[1] == "logins":
        ensure_logins(Path(sys.argv[2]))
    else:
        sys.exit(__doc__)
