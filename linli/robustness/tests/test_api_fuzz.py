"""API fuzzing: schemathesis drives every operation of the live OpenAPI schema through Django's WSGI
application in-process, as several roles, against the populated demo district.

Every response must be something other than a server error and must match the schema (body and
content type) for the status codes the schema documents. Valid (positive) and invalid (negative)
requests are both generated; path ids are often replaced with ids of real records, so requests
reach the serializers and the workflow instead of stopping at 404. Write operations sometimes carry
``If-Match: *`` so updates get past the optimistic-concurrency check.
"""

import traceback

import hypothesis
import pytest
import schemathesis
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections, transaction
from drf_spectacular.generators import SchemaGenerator
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from linli import robustness

from .conftest import FUZZ_ROLES

pytestmark = pytest.mark.django_db

CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
EXAMPLES = {
    GenerationMode.POSITIVE: robustness.scale(2, 60),
    GenerationMode.NEGATIVE: robustness.scale(1, 30),
}


def resource_ids():
    """URL segment → ids of real rows, so generated paths hit records that exist."""
    from linli.accounts.models import User
    from linli.areas.models import Area, Building, House
    from linli.events.models import Event
    from linli.grid.models import DiaryEntry, DutyShift, GridAssignment, Patrol, Visit
    from linli.registry.models import GroupMembership, Household, Person

    models = {
        "areas": Area, "persons": Person, "households": Household, "houses": House, "buildings": Building,
        "group-memberships": GroupMembership, "events": Event, "grid-assignments": GridAssignment,
        "visits": Visit, "diary-entries": DiaryEntry, "patrols": Patrol, "duty-shifts": DutyShift,
        "users": User,
    }  # fmt: skip
    ids = {segment: list(model.objects.order_by("pk").values_list("pk", flat=True)[:200])
           for segment, model in models.items()}  # fmt: skip
    from linli.events.models import Event as _Event

    ids["service_request_id"] = list(_Event.objects.order_by("pk").values_list("number", flat=True)[:50])
    return ids


def segment_of(path: str) -> str | None:
    parts = path.strip("/").split("/")
    return parts[2] if len(parts) > 2 and parts[1] == "v1" else None


@pytest.fixture
def wsgi_app():
    """Django's own WSGI handler; the connection is the test's, so per-request closing is off."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield WSGIHandler()
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def test_every_operation_as_every_role(api_tokens, wsgi_app):
    raw = SchemaGenerator().get_schema(request=None, public=True)
    schema = schemathesis.openapi.from_dict(raw)
    ids = resource_ids()
    failures: list[str] = []
    server_errors: list[str] = []

    def on_exception(sender, request=None, **kwargs):
        server_errors.append(f"{request.method} {request.get_full_path()}\n{traceback.format_exc()}")

    signals.got_request_exception.connect(on_exception)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 80, "the schema lost operations"
    try:
        for operation in operations:
            label = f"{operation.method.upper()} {operation.path}"
            for mode, examples in EXAMPLES.items():
                _fuzz(operation, mode, examples, label, api_tokens, ids, wsgi_app, failures)
    finally:
        signals.got_request_exception.disconnect(on_exception)
    summary = sorted({e.splitlines()[0] + " → " + e.strip().splitlines()[-1] for e in server_errors})
    assert not server_errors, "\n".join(summary) + "\n\n" + "\n\n".join(server_errors[:2])
    headlines = [f.splitlines()[0] + " " + next((ln.strip() for ln in f.splitlines()[1:] if " is " in ln or "ST" in ln), "")
                 for f in failures]  # fmt: skip
    assert not failures, "\n".join(headlines) + "\n\n" + "\n\n".join(failures[:3])


def _fuzz(operation, mode, examples, label, tokens, ids, app, failures):
    segment = segment_of(operation.path)
    real_ids = ids.get(segment or "", []) or ids.get("service_request_id", [])
    writes = operation.method.upper() in {"POST", "PUT", "PATCH", "DELETE"}
    per_operation_failures = []

    @hypothesis.settings(
        max_examples=examples, deadline=None, database=None, derandomize=True,
        suppress_health_check=list(hypothesis.HealthCheck),
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
    )  # fmt: skip
    @hypothesis.given(case=operation.as_strategy(generation_mode=mode), role=st.sampled_from(FUZZ_ROLES),
                      data=st.data())  # fmt: skip
    def run(case, role, data):
        for name in ("id", "service_request_id"):
            if name in (case.path_parameters or {}) and real_ids and data.draw(st.booleans()):
                case.path_parameters[name] = data.draw(st.sampled_from(real_ids))
        headers = {}
        if data.draw(st.integers(0, 9)) > 0:  # one request in ten goes without a token
            headers["Authorization"] = f"Bearer {tokens[role]}"
        if writes and data.draw(st.booleans()):
            headers["If-Match"] = "*"
        savepoint = transaction.savepoint()
        try:
            response = case.call(app=app, headers=headers)
        finally:
            robustness.tally("api", label)
        if response.status_code >= 500:
            transaction.savepoint_rollback(savepoint)
        else:
            transaction.savepoint_commit(savepoint)
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except FailureGroup as exc:
            if len(per_operation_failures) < 1:
                per_operation_failures.append(f"[{label} as {role}, {mode.value}] {exc}"[:3000])

    try:
        run()
    except hypothesis.errors.Unsatisfiable:
        # Nothing to make invalid (an operation without parameters or body): negative mode has no cases.
        assert mode == GenerationMode.NEGATIVE, label
    failures.extend(per_operation_failures)
