"""The mixed staff workload for ``locust --headless`` (started by ``python -m bench run``).

Each simulated user is a grid worker or a community leader with an API token (the plan written by
``bench.worker plan``, path in ``BENCH_PLAN``), working through the REST API: list residents,
search, open a record, edit one (read the version, send it back), and report an event that the
community leader then accepts (a workflow transition). No think time: the load is closed-loop.

``FastHttpUser`` (geventhttpclient, shipped with locust) rather than ``HttpUser`` (requests): the
load tool shares the machine's cores with the server it measures, and requests spent several
times the CPU per call (docs/performance.md, throughput).
"""

import json
import os
import random
from urllib.parse import urlencode

from locust import FastHttpUser, task

PLAN = json.loads(open(os.environ["BENCH_PLAN"], encoding="utf-8").read())  # noqa: SIM115
_counter = iter(range(10**9))


class Staff(FastHttpUser):
    def on_start(self):
        member = PLAN["staff"][next(_counter) % len(PLAN["staff"])]
        self.member = member
        self.rng = random.Random()  # noqa: S311 - load generation
        self.auth = {"Authorization": f"Bearer {member['token']}"}
        self.leader = member["user"] == PLAN["event_reporter"]

    def _person(self) -> int:
        return self.rng.choice(self.member["person_ids"])

    @task(4)
    def list_persons(self):
        # The API pages by limit/offset: one of the first 20 pages of 50.
        offset = 50 * self.rng.randrange(20)
        self.client.get(f"/api/v1/persons/?limit=50&offset={offset}", name="list", headers=self.auth)

    @task(4)
    def search(self):
        kind = self.rng.choice([k for k, v in self.member["terms"].items() if v])
        term = self.rng.choice(self.member["terms"][kind])
        self.client.get(
            "/api/v1/persons/?" + urlencode({"q": term}), name=f"search {kind}", headers=self.auth
        )

    @task(4)
    def view(self):
        self.client.get(f"/api/v1/persons/{self._person()}/", name="view", headers=self.auth)

    @task(1)
    def edit(self):
        pk = self._person()
        response = self.client.get(f"/api/v1/persons/{pk}/", name="edit (read)", headers=self.auth)
        if response.status_code != 200:
            return
        version = response.json()["version"]
        self.client.patch(f"/api/v1/persons/{pk}/", json={"note": f"基准测试 {self.rng.random():.6f}",
                                                           "version": version}, name="edit (write)",
                          headers=self.auth)  # fmt: skip

    @task(1)
    def event(self):
        if not self.leader or not PLAN["grids"]:
            return self.view()
        response = self.client.post("/api/v1/events/", json={
            "category": PLAN["category"], "title": "基准测试事件", "description": "负载测试",
            "location_area": self.rng.choice(PLAN["grids"]),
        }, name="event report", headers=self.auth)  # fmt: skip
        if response.status_code == 201:
            self.client.post(f"/api/v1/events/{response.json()['id']}/accept/", json={"note": "受理"},
                             name="event accept", headers=self.auth)  # fmt: skip
