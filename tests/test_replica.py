"""Reads from a real PostgreSQL streaming replica (core.db_router, DATABASE_REPLICA_URL).

A hot standby of the loopback server is built with pg_basebackup and started on a free port;
the `replica` alias points at it for the test. The primary must accept replication
connections from 127.0.0.1 for `postgres`; its pg_hba.conf needs a line such as

    host replication postgres 127.0.0.1/32 trust

(then `SELECT pg_reload_conf()`). Without it, or without the server's binaries, or when not
running as root or the `postgres` OS user, the test skips (fails under CI=true).
"""

from __future__ import annotations

import copy
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.db import connection, connections, router, transaction
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from approvals.models import Transfer
from core.db_router import REPLICA_DB_ALIAS, reading_from_replica
from tests.factories import (
    SecurityGroupFactory,
    SecurityGroupMemberFactory,
    StepFactory,
    WorkflowAssignmentFactory,
    WorkflowTemplateFactory,
)
from workflows.models import HumanTask

TRANSFERS = "/api/approvals/transfers/"
# Settings a hot standby must have at least as high as its primary, or it refuses to start.
COPIED = (
    "max_connections",
    "max_worker_processes",
    "max_wal_senders",
    "max_prepared_transactions",
    "max_locks_per_transaction",
)
HBA_LINE = "host replication postgres 127.0.0.1/32 trust"
REPLAY_TIMEOUT_S = 30
WRITES = {"INSERT", "UPDATE", "DELETE", "MERGE", "TRUNCATE", "WITH"}


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI: {reason}")
    pytest.skip(reason)


def _primary(sql: str) -> Any:
    """One value from the primary, as the login of DATABASE_URL (a superuser here)."""
    params = connection.get_connection_params()
    params.pop("prepare_threshold", None)
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params, autocommit=True) as conn:
        row = conn.execute(sql).fetchone()
        return row[0] if row else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Standby:
    """A hot standby of the loopback server in a temporary directory."""

    def __init__(self) -> None:
        major = int(_primary("SHOW server_version_num")) // 10000
        self.bin = Path(f"/usr/lib/postgresql/{major}/bin")
        if not (self.bin / "pg_basebackup").exists():
            _unavailable(f"no PostgreSQL {major} binaries in {self.bin}")
        if os.geteuid() == 0:
            self.prefix = ["runuser", "-u", "postgres", "--"]
        elif pwd.getpwuid(os.geteuid()).pw_name == "postgres":
            self.prefix = []
        else:
            _unavailable("the standby runs as the postgres OS user: run as root or postgres")
        # In memory when there is room: a copy of the whole cluster, written in 2 s, not 15+.
        shm = Path("/dev/shm")  # noqa: S108
        in_memory = shm.is_dir() and shutil.disk_usage(shm).free > 4 * 2**30
        self.dir = Path(tempfile.mkdtemp(prefix="wf-standby-", dir=shm if in_memory else None))
        self.data = self.dir / "data"
        self.port = _free_port()
        self.started = False
        self.settings = {name: _primary(f"SHOW {name}") for name in COPIED}

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.prefix, *args], capture_output=True, text=True, timeout=60, check=False
        )

    def start(self) -> None:
        if self.prefix:
            shutil.chown(self.dir, "postgres", "postgres")
        self.dir.chmod(0o700)
        primary = connection.settings_dict
        backup = self.run(
            str(self.bin / "pg_basebackup"),
            *("-h", primary["HOST"] or "127.0.0.1", "-p", str(primary["PORT"] or 5432)),
            *("-U", "postgres", "-D", str(self.data), "-R", "-X", "stream"),
            *("--checkpoint=fast", "--no-sync", "--no-manifest"),  # a throwaway copy
        )
        if backup.returncode != 0:
            if "pg_hba.conf" in backup.stderr or "replication" in backup.stderr:
                _unavailable(
                    f"the primary refuses replication connections ({backup.stderr.strip()}); "
                    f"add `{HBA_LINE}` to its pg_hba.conf and reload"
                )
            raise RuntimeError(f"pg_basebackup failed: {backup.stderr}")
        # Debian keeps the configuration outside the data directory: the copy has none.
        conf = [
            f"port = {self.port}",
            "listen_addresses = '127.0.0.1'",
            f"unix_socket_directories = '{self.dir}'",
            "hot_standby = on",
            "fsync = off",
            "shared_buffers = 16MB",
            *(f"{name} = {value}" for name, value in self.settings.items()),
        ]
        self._write("postgresql.conf", "\n".join(conf) + "\n")
        self._write("pg_hba.conf", "local all all trust\nhost all all 127.0.0.1/32 trust\n")
        self._write("pg_ident.conf", "")
        ctl = self.run(
            str(self.bin / "pg_ctl"),
            *("-D", str(self.data), "-l", str(self.dir / "log"), "-w", "-t", "30", "start"),
        )
        self.started = ctl.returncode == 0
        if not self.started:
            log = (self.dir / "log").read_text() if (self.dir / "log").exists() else ""
            raise RuntimeError(f"the standby did not start: {ctl.stderr}\n{log}")

    def _write(self, name: str, text: str) -> None:
        path = self.data / name
        path.write_text(text)
        if self.prefix:
            shutil.chown(path, "postgres", "postgres")

    def execute(self, sql: str) -> Any:
        """As the superuser, on the standby (not through Django: not captured)."""
        dbname = connection.settings_dict["NAME"]
        with psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname=dbname, autocommit=True
        ) as conn:
            row = conn.execute(sql).fetchone()
            return row[0] if row else None

    def catch_up(self) -> None:
        """Wait until the standby replayed everything the primary committed so far."""
        lsn = _primary("SELECT pg_current_wal_lsn()::text")
        deadline = time.monotonic() + REPLAY_TIMEOUT_S
        while not self.execute(f"SELECT pg_last_wal_replay_lsn() >= '{lsn}'::pg_lsn"):
            if time.monotonic() > deadline:
                raise AssertionError(f"the standby did not replay up to {lsn}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.started:
            self.run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def standby(django_db_setup: Any, django_db_blocker: Any) -> Iterator[Standby]:
    """The standby, and the `replica` alias on it as DATABASE_REPLICA_URL would configure it.
    Added after the test database exists and before a test's database set-up (module scope):
    the tests list it in `databases`; as a mirror of default, Django never flushes it."""
    with django_db_blocker.unblock():
        server = Standby()
        try:
            server.start()
            settings_dict = copy.deepcopy(connections.settings["default"])
            settings_dict.update(
                HOST="127.0.0.1", PORT=str(server.port), TEST={"MIRROR": "default"}
            )
            connections.settings[REPLICA_DB_ALIAS] = settings_dict
            yield server
        finally:
            if hasattr(connections._connections, REPLICA_DB_ALIAS):
                connections[REPLICA_DB_ALIAS].close()
                del connections[REPLICA_DB_ALIAS]
            connections.settings.pop(REPLICA_DB_ALIAS, None)
            server.stop()


@pytest.fixture
def finance(tenant: Any, make_user: Any, client_for: Any) -> dict[str, Any]:
    """A submitter's FAR transfer waiting for a Finance Team supervisor's approval."""
    group = SecurityGroupFactory(tenant=tenant, name="Finance Team")
    submitter, approver = make_user(Role.AGENT), make_user(Role.SUPERVISOR)
    for user in (submitter, approver):
        SecurityGroupMemberFactory(security_group=group, user=user)
    template = WorkflowTemplateFactory(tenant=tenant, transfer_type="FAR")
    StepFactory(
        workflow=template,
        order=0,
        action="approval",
        config={"approvers": {"security_group": group.pk}},
    )
    WorkflowAssignmentFactory(security_group=group, workflow_template=template, execution_order=1)
    submitter_client = client_for(submitter)
    return {"submitter": submitter_client, "approver": client_for(approver)}


def _create_transfer(client: Any, reference: str) -> int:
    response = client.post(
        TRANSFERS,
        {"transfer_type": "FAR", "reference": reference, "amount": "5.00", "currency": "EUR"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    return response.json()["transfer"]["id"]


LIST_TABLES = ("approvals_transfer", "workflows_humantask", "workflows_taskballot", "audit")


def _get(client: Any, url: str) -> tuple[Any, list[str], list[str]]:
    """The response, and the SQL it ran on the primary and on the replica."""
    with (
        CaptureQueriesContext(connections["default"]) as primary,
        CaptureQueriesContext(connections[REPLICA_DB_ALIAS]) as replica,
    ):
        response = client.get(url)
    assert response.status_code == 200, (url, response.content)
    return response, [q["sql"] for q in primary], [q["sql"] for q in replica]


def _reads_of_lists(statements: list[str]) -> list[str]:
    return [sql for sql in statements if any(table in sql for table in LIST_TABLES)]


ON_BOTH = pytest.mark.django_db(transaction=True, databases=["default", REPLICA_DB_ALIAS])


@ON_BOTH
def test_lists_inbox_and_reports_read_the_replica_and_a_decision_the_primary(
    standby: Standby, finance: dict[str, Any]
) -> None:
    transfer_id = _create_transfer(finance["submitter"], "R-1")  # committed on the primary
    task_id = HumanTask.objects.get().pk
    standby.catch_up()

    approver = finance["approver"]
    for url in (
        "/api/tasks/",
        TRANSFERS,
        "/api/reports/cycle-times/",
        "/api/reports/overdue/",
        "/api/reports/approvers/",
        "/api/audit-log/",
    ):
        response, on_primary, on_replica = _get(approver, url)
        # Authentication reads the user on the primary; every read of the list the replica.
        assert len(on_primary) == 1, (url, on_primary)
        assert on_primary[0].startswith('SELECT "accounts_user"."id"'), on_primary
        assert on_replica, url
        assert not [sql for sql in on_replica if sql.split()[0].upper() in WRITES], on_replica
        if url == "/api/tasks/":
            assert [t["id"] for t in response.json()["results"]] == [task_id]
            assert _reads_of_lists(on_replica), on_replica
        if url == TRANSFERS:
            assert [t["id"] for t in response.json()["transfers"]] == [transfer_id]
            assert _reads_of_lists(on_replica), on_replica

    # Proof it is the standby answering, not the primary under another name: with replay
    # paused, a transfer committed on the primary is not in the list yet.
    standby.execute("SELECT pg_wal_replay_pause()")
    try:
        _create_transfer(finance["submitter"], "R-2")
        assert Transfer.objects.count() == 2
        response, _, _ = _get(approver, TRANSFERS)
        assert [t["id"] for t in response.json()["transfers"]] == [transfer_id]
    finally:
        standby.execute("SELECT pg_wal_replay_resume()")

    # A decision reads and writes the primary only, its look-ups included.
    with (
        CaptureQueriesContext(connections["default"]) as primary,
        CaptureQueriesContext(connections[REPLICA_DB_ALIAS]) as on_replica,
    ):
        response = approver.post(
            f"{TRANSFERS}{transfer_id}/approve/", {"comment": "ok"}, format="json"
        )
    assert response.status_code == 200, response.json()
    assert response.json()["transfer"]["status"] == "approved"
    assert list(on_replica) == []
    assert _reads_of_lists([q["sql"] for q in primary])


@ON_BOTH
def test_router_keeps_transactions_and_writes_on_the_primary(standby: Standby) -> None:
    assert router.db_for_read(Transfer) == "default"  # outside the scope
    with reading_from_replica():
        assert router.db_for_read(Transfer) == REPLICA_DB_ALIAS
        assert router.db_for_write(Transfer) == "default"
        with transaction.atomic():  # a read a write may depend on
            assert router.db_for_read(Transfer) == "default"
    assert router.allow_migrate(REPLICA_DB_ALIAS, "approvals") is False


@ON_BOTH
def test_a_replica_that_is_down_is_a_503_not_a_read_of_the_primary(
    standby: Standby, finance: dict[str, Any], monkeypatch: Any
) -> None:
    connections[REPLICA_DB_ALIAS].close()
    monkeypatch.setitem(connections[REPLICA_DB_ALIAS].settings_dict, "PORT", str(_free_port()))
    with CaptureQueriesContext(connections["default"]) as primary:
        response = finance["approver"].get("/api/tasks/")
    assert response.status_code == 503, response.content
    assert _reads_of_lists([q["sql"] for q in primary]) == []
    connections[REPLICA_DB_ALIAS].close()


def test_without_a_replica_every_read_is_the_primarys(monkeypatch: Any) -> None:
    monkeypatch.delitem(connections.settings, REPLICA_DB_ALIAS, raising=False)
    with reading_from_replica():
        assert router.db_for_read(Transfer) == "default"
