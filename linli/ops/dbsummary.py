"""Row counts and content checksums per table, for a backup's manifest and a restore's proof.

A checksum is order-independent: the sum of the first 60 bits of a hash of every row's text.
Any changed, added or removed row changes it (with overwhelming probability), and it is computed
inside the database on PostgreSQL (one pass per table, no rows sent to Python). Values are only
compared between databases of the same engine: a PostgreSQL backup with its PostgreSQL restore,
an SQLite backup with its SQLite restore.

Functions take DB-API connections, not Django's, because a drill summarises a scratch database
that Django is not configured for.
"""

import hashlib


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def pg_tables(cursor) -> list[str]:
    cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename")
    return [row[0] for row in cursor.fetchall()]


def pg_prepare_session(cursor) -> None:
    """Fix every setting that changes a row's text form, so both sides hash the same text
    (``SET LOCAL``: callers run inside a transaction, and the session keeps its own settings)."""
    for statement in (
        "SET LOCAL TIME ZONE 'UTC'",
        "SET LOCAL DateStyle = 'ISO, YMD'",
        "SET LOCAL IntervalStyle = 'postgres'",
        "SET LOCAL extra_float_digits = 1",
        "SET LOCAL bytea_output = 'hex'",
    ):
        cursor.execute(statement)


def pg_summary(cursor, tables: list[str] | None = None) -> dict[str, dict]:
    pg_prepare_session(cursor)
    result = {}
    for table in tables if tables is not None else pg_tables(cursor):
        q = _quote(table)
        cursor.execute(
            f"SELECT count(*), coalesce(sum(('x' || left(md5(t::text), 15))::bit(60)::bigint), 0) "  # noqa: S608
            f"FROM {q} AS t"
        )
        count, total = cursor.fetchone()
        result[table] = {"rows": int(count), "checksum": f"{int(total):x}"}
    return result


def sqlite_tables(conn) -> list[str]:
    rows = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
    ).fetchall()
    return [row[0] for row in rows]


def sqlite_summary(conn, tables: list[str] | None = None) -> dict[str, dict]:
    result = {}
    for table in tables if tables is not None else sqlite_tables(conn):
        count = total = 0
        for row in conn.execute(f"SELECT * FROM {_quote(table)}"):  # noqa: S608
            count += 1
            total += int(hashlib.md5(repr(tuple(row)).encode(), usedforsecurity=False).hexdigest()[:15], 16)
        result[table] = {"rows": count, "checksum": f"{total:x}"}
    return result


def compare(expected: dict[str, dict], actual: dict[str, dict]) -> list[str]:
    """Human-readable differences between two summaries (empty when they agree)."""
    problems = []
    for table in sorted(set(expected) | set(actual)):
        want, got = expected.get(table), actual.get(table)
        if want is None:
            problems.append(f"{table}: 恢复后多出此表 (table not in the manifest)")
        elif got is None:
            problems.append(f"{table}: 恢复后缺少此表 (table missing after restore)")
        elif want["rows"] != got["rows"]:
            problems.append(
                f"{table}: 行数不符 清单 {want['rows']} / 恢复 {got['rows']} "
                f"(row count differs: manifest {want['rows']}, restored {got['rows']})"
            )
        elif want["checksum"] != got["checksum"]:
            problems.append(f"{table}: 校验和不符 (checksum differs)")
    return problems
