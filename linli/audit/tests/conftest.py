from contextlib import contextmanager

import pytest
from django.db import connection


@contextmanager
def bypass_guard():
    """Tamper like someone with raw database access: on PostgreSQL, switch the guard triggers off
    for the rest of the block (``session_replication_role = replica`` skips ordinary triggers)."""
    postgres = connection.vendor == "postgresql"
    if postgres:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = replica")
    try:
        yield
    finally:
        if postgres:
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL session_replication_role = DEFAULT")


def make_user(username, role_key=None, area=None, **fields):
    from linli.accounts.models import Role, RoleAssignment, User

    user = User.objects.create_user(username, password="Pw-for-tests-1", **fields)
    if role_key:
        RoleAssignment.objects.create(user=user, role=Role.objects.get(key=role_key), area=area)
    return user


@pytest.fixture
def auditor(area_tree):
    return make_user("auditor1", "auditor", area_tree["district"], full_name="审计员甲")


@pytest.fixture
def worker(area_tree):
    return make_user("worker1", "grid_worker", area_tree["grids"][0], full_name="网格员乙")
