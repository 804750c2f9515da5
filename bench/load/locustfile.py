"""`make load`'s users (locust, headless; bench/load/run.py starts it, once per target).

Each user is a desk: it creates a transfer as the submitter, then drives it through the
three-workflow chain by having every eligible approver approve at once (they race: one wins,
the others get 409, counted as lost races, not errors), then reads an approver's inbox and the
submitter's transfer list. LOAD_TARGET=engine uses the API; LOAD_TARGET=ceiling the same
requests on /bench/ceiling/ (bench/load/ceiling.py). Every response is recorded (endpoint,
status, milliseconds) and written as JSON to LOAD_OUT when the run stops.
"""

from __future__ import annotations

import itertools
import json
import os
import time
from collections import defaultdict

import gevent
from locust import HttpUser, events, task

TARGET = os.environ.get("LOAD_TARGET", "engine")
IDENTITIES = json.loads(os.environ.get("LOAD_IDENTITIES", "{}"))
PREFIX = os.environ.get("LOAD_PREFIX", "L")
WARMUP = float(os.environ.get("LOAD_WARMUP", "0"))  # seconds not measured (workers' first calls)
REVIEW_STAGE = 2  # the chain's second workflow excludes the previous deciders

if TARGET == "ceiling":
    ROUTES = {
        "create": "/bench/ceiling/transfers/",
        "approve": "/bench/ceiling/transfers/{}/approve/",
        "inbox": "/bench/ceiling/tasks/",
        "list": "/bench/ceiling/transfers/",
    }
else:
    ROUTES = {
        "create": "/api/approvals/transfers/",
        "approve": "/api/approvals/transfers/{}/approve/",
        "inbox": "/api/tasks/?subject_type=transfer",
        "list": "/api/approvals/transfers/",
    }

samples: dict[str, list[tuple[int, float]]] = defaultdict(list)
counts = {"completed": 0, "decisions": 0, "lost_races": 0, "stuck": 0}
clock = {"start": 0.0, "stop": 0.0}
serial = itertools.count(1)


@events.request.add_listener
def record(name, response_time, response, exception, **_) -> None:  # noqa: ANN001
    if not measuring():
        return
    status = getattr(response, "status_code", 0) or 0
    if exception is not None and not status:
        status = 0  # no response at all (connection refused, timeout)
    samples[name].append((status, response_time))


def measuring() -> bool:
    return time.time() >= clock["start"]


def count(key: str) -> None:
    if measuring():
        counts[key] += 1


@events.test_start.add_listener
def started(**_) -> None:
    clock["start"] = time.time() + WARMUP


@events.test_stop.add_listener
def stopped(**_) -> None:
    clock["stop"] = time.time()
    out = os.environ.get("LOAD_OUT")
    if out:
        with open(out, "w") as f:
            json.dump({"samples": samples, "counts": counts, "clock": clock}, f)


def state(body: dict) -> tuple[str, int, set[int]]:
    """(status, stage, approvers excluded from it) from a transfer response of either target."""
    transfer = body["transfer"]
    if TARGET == "ceiling":
        excluded = set(transfer.get("deciders", [])) if transfer["stage"] == REVIEW_STAGE else set()
        return transfer["status"], transfer["stage"], excluded
    stage, excluded = 0, set()
    chain = sorted(transfer["chain"], key=lambda item: item["execution_order"])
    for index, item in enumerate(chain, 1):
        if item["status"] == "running":
            stage = index
            if index == REVIEW_STAGE:
                excluded = {
                    d["decided_by"] for prior in chain[: index - 1] for d in prior["decisions"]
                }
            break
    return transfer["status"], stage, excluded


class Desk(HttpUser):
    def on_start(self) -> None:
        self.submitter = IDENTITIES["submitter"]
        self.approvers = IDENTITIES["approvers"]

    def call(self, method: str, route: str, who: dict, url: str, **kwargs):  # noqa: ANN201
        headers = {"Authorization": f"Bearer {who['token']}"}
        with self.client.request(
            method, url, name=route, headers=headers, catch_response=True, **kwargs
        ) as response:
            if response.status_code < 400 or (route == "approve" and response.status_code == 409):
                response.success()  # a lost race is expected: counted apart, not a failure
            else:
                response.failure(f"{response.status_code}")
            return response

    @task
    def transfer_through_the_chain(self) -> None:
        reference = f"{PREFIX}-{os.getpid()}-{next(serial)}"
        created = self.call(
            "POST",
            "create",
            self.submitter,
            ROUTES["create"],
            json={
                "transfer_type": "FAR",
                "reference": reference,
                "amount": "100.00",
                "currency": "EUR",
            },
        )
        if created.status_code != 201:
            return
        transfer_id = created.json()["transfer"]["id"]
        status, stage, excluded = state(created.json())
        for _ in range(12):  # 3 stages; a round where every racer lost is retried
            if status != "pending":
                break
            racers = [a for a in self.approvers if a["id"] not in excluded]
            url = ROUTES["approve"].format(transfer_id)
            jobs = [
                gevent.spawn(self.call, "POST", "approve", racer, url, json={}) for racer in racers
            ]
            gevent.joinall(jobs)
            best = None
            for job in jobs:
                response = job.value
                if response is None:
                    continue
                if response.status_code == 200:
                    count("decisions")
                    seen = state(response.json())
                    if best is None or (seen[0] != "pending", seen[1]) > (
                        best[0] != "pending",
                        best[1],
                    ):
                        best = seen
                elif response.status_code == 409:
                    count("lost_races")
            if best is not None:
                status, stage, excluded = best
        if status == "approved":
            count("completed")
        elif status == "pending":
            count("stuck")
        reader = self.approvers[transfer_id % len(self.approvers)]
        self.call("GET", "inbox", reader, ROUTES["inbox"])
        self.call("GET", "list", self.submitter, ROUTES["list"])
