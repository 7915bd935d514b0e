"""App CPU and queries per request type of the throughput workload (``bench/locustfile.py``).

``python -m bench.apicost --samples 50 [--profile out.prof] [--only view,list]`` with
``DATABASE_URL``/``LINLI_VAR_DIR`` pointing at a prepared scale (``bench run`` prints them). Each
request goes through Django's test client with the same API token header as the load test, so
it runs every middleware, DRF authentication, permission checks, serialisation and audit write,
in this process: the CPU it reports is the app's share of one request (no network, no client).
"""

import argparse
import cProfile
import json
import os
import random
import statistics
import sys
import time


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", default="")
    parser.add_argument("--profile", default="")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    from .worker import plan, setup_django

    setup_django()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    p = plan(argparse.Namespace(seed=args.seed))
    rng = random.Random(args.seed)  # noqa: S311
    clients = {}
    for member in p["staff"]:
        clients[member["user"]] = Client(
            HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {member['token']}"
        )

    def member_of(i):
        return p["staff"][i % len(p["staff"])]

    def r_list(i):
        m = member_of(i)
        return [(m, "get", f"/api/v1/persons/?page={rng.randint(1, 20)}", None)]

    def r_search(i):
        m = member_of(i)
        kind = rng.choice([k for k, v in m["terms"].items() if v])
        from urllib.parse import quote

        return [(m, "get", "/api/v1/persons/?q=" + quote(str(rng.choice(m["terms"][kind]))), None)]

    def r_view(i):
        m = member_of(i)
        return [(m, "get", f"/api/v1/persons/{rng.choice(m['person_ids'])}/", None)]

    def r_edit_write(i):
        m = member_of(i)
        pk = rng.choice(m["person_ids"])
        return [(m, "edit", pk, None)]

    def r_event(i):
        m = next(s for s in p["staff"] if s["user"] == p["event_reporter"])
        return [(m, "event", None, None)]

    kinds = {"list": r_list, "search": r_search, "view": r_view, "edit": r_edit_write, "event": r_event}
    only = [k for k in args.only.split(",") if k] or list(kinds)

    def do(m, method, target, timings, name, queries):
        c = clients[m["user"]]

        def timed(label, fn):
            with CaptureQueriesContext(connection) as q:
                t0, c0 = time.perf_counter(), time.process_time()
                r = fn()
                cpu = time.process_time() - c0
                wall = time.perf_counter() - t0
            if r.status_code >= 400:
                raise RuntimeError(f"{label}: {r.status_code} {r.content[:300]!r}")
            timings.setdefault(label, []).append((wall * 1000, cpu * 1000))
            queries.setdefault(label, []).append(len(q))
            return r

        if method == "get":
            timed(name, lambda: c.get(target))
        elif method == "edit":
            r = timed("edit (read)", lambda: c.get(f"/api/v1/persons/{target}/"))
            version = r.json()["version"]
            body = json.dumps({"note": f"基准测试 {rng.random():.6f}", "version": version})
            timed("edit (write)", lambda: c.patch(f"/api/v1/persons/{target}/", body,
                                                  content_type="application/json"))  # fmt: skip
        elif method == "event":
            body = json.dumps({"category": p["category"], "title": "基准测试事件", "description": "负载测试",
                               "location_area": rng.choice(p["grids"])})  # fmt: skip
            r = timed(
                "event report", lambda: c.post("/api/v1/events/", body, content_type="application/json")
            )
            eid = r.json()["id"]
            timed("event accept", lambda: c.post(f"/api/v1/events/{eid}/accept/", json.dumps({"note": "受理"}),
                                                 content_type="application/json"))  # fmt: skip

    # warm-up
    for k in only:
        for i in range(4):
            for m, method, target, _ in kinds[k](i):
                do(m, method, target, {}, k, {})
    timings: dict = {}
    queries: dict = {}
    prof = cProfile.Profile(time.process_time) if args.profile else None
    for i in range(args.samples):
        for k in only:
            for m, method, target, _ in kinds[k](i):
                if prof:
                    prof.enable()
                do(m, method, target, timings, k, queries)
                if prof:
                    prof.disable()
    if prof:
        prof.dump_stats(args.profile)
    out = {}
    for label, ts in timings.items():
        out[label] = {
            "n": len(ts),
            "wall_ms_p50": statistics.median(t[0] for t in ts),
            "cpu_ms_p50": statistics.median(t[1] for t in ts),
            "cpu_ms_mean": statistics.fmean(t[1] for t in ts),
            "queries_p50": statistics.median(queries[label]),
            "queries_max": max(queries[label]),
        }
    if args.json:
        print(json.dumps(out))
    else:
        print(f"{'request':16} {'n':>4} {'wall p50':>9} {'CPU p50':>8} {'CPU mean':>9} {'queries':>8}")
        for label, v in out.items():
            print(f"{label:16} {v['n']:4d} {v['wall_ms_p50']:8.1f}  {v['cpu_ms_p50']:7.1f}  {v['cpu_ms_mean']:8.1f}"
                  f"  {v['queries_p50']:5.0f}/{v['queries_max']}")  # fmt: skip
        print(f"load average {os.getloadavg()[0]:.2f}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
