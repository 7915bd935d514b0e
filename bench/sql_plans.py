"""The search and list queries' database time, old form against new, by EXPLAIN ANALYZE.

``python -m bench.sql_plans postgres://…/linli_NAME_bench_p100000 before|after|old [scope-path]``

Median of 7 (planning + execution) per figure, in one connection, for the demo's sub-district
scope (``00010001`` unless given). ``before`` drops the search and list indexes inside a
transaction that is rolled back (``old``: the same without dropping anything, read-only, for a
database that never had them), and uses the old search conditions (``name LIKE '%…%'`` and the
pinyin OR chain) and one full-row page query; ``after`` uses the keys-column conditions and
fetches a page as the app does: its keys first, then those rows by key. The app's CASE ranking
and joins are reproduced by hand; the texts are fixed demo names and initials. Database only: the
page process's own time is what ``python -m bench run`` reports.
"""

# ruff: noqa: S608 - fixed texts and scope built here, never user input

import statistics
import sys

RUNS = 7
ROWS = (
    "SELECT p.*, a.*, h.* FROM registry_person p JOIN areas_area a ON a.id = p.area_id "
    "LEFT JOIN areas_house h ON h.id = p.house_id"
)
INDEXES = (
    "registry_person_name_keys_trgm",
    "registry_person_pinyin_keys_trgm",
    "registry_person_path_pinyin",
)


def _old_name(t):
    return f"(p.name = '{t}' OR p.name LIKE '{t}%' OR p.name LIKE '%{t}%' OR p.former_name LIKE '%{t}%')"


def _old_pinyin(t):
    return (
        f"(p.pinyin = '{t}' OR p.pinyin_initials = '{t}' OR p.pinyin LIKE '{t}%' "
        f"OR p.pinyin_initials LIKE '{t}%' OR p.pinyin_keys LIKE '% {t}%')"
    )


def _rank_name(t):
    return f"CASE WHEN p.name = '{t}' THEN 2 WHEN p.name LIKE '{t}%' THEN 3 ELSE 5 END"


def _rank_pinyin(t):
    return (
        f"CASE WHEN p.pinyin = '{t}' OR p.pinyin_initials = '{t}' THEN 2 "
        f"WHEN p.pinyin LIKE '{t}%' OR p.pinyin_initials LIKE '{t}%' THEN 3 ELSE 4 END"
    )


def queries(mode: str, path: str, upper: str) -> dict[str, list[str]]:
    scope = f"p.area_path >= '{path}' AND p.area_path < '{upper}'"
    out: dict[str, list[str]] = {}

    def page(label, where, order):
        if mode != "after":
            out[label] = [f"{ROWS} WHERE {where} ORDER BY {order} LIMIT 50"]
        else:
            out[label] = [f"SELECT p.id FROM registry_person p WHERE {where} ORDER BY {order} LIMIT 50",
                          f"{ROWS} WHERE p.id IN (%s)"]  # fmt: skip

    for label, text, old, new, rank in [
        ("name 王建", "王建", _old_name, lambda t: f"p.name_keys LIKE '% {t}%'", _rank_name),
        ("name 王建国", "王建国", _old_name, lambda t: f"p.name_keys LIKE '% {t}%'", _rank_name),
        ("initials wj", "wj", _old_pinyin, lambda t: f"p.pinyin_keys LIKE '% {t}%'", _rank_pinyin),
        ("initials zjg", "zjg", _old_pinyin, lambda t: f"p.pinyin_keys LIKE '% {t}%'", _rank_pinyin),
        ("pinyin zhang", "zhang", _old_pinyin, lambda t: f"p.pinyin_keys LIKE '% {t}%'", _rank_pinyin),
    ]:
        where = f"{scope} AND {(new if mode == 'after' else old)(text)}"
        out[f"search {label}: count"] = [f"SELECT count(*) FROM registry_person p WHERE {where}"]
        page(f"search {label}: page", where, f"{rank(text)}, p.pinyin, p.id")
    out["list: count"] = [f"SELECT count(*) FROM registry_person p WHERE {scope}"]
    page("list page 1", scope, "p.area_path, p.pinyin")
    page("list page 20", scope, "p.area_path, p.pinyin OFFSET 950")
    women = f"{scope} AND p.sex = '2' AND p.birth_date <= '1966-12-02'"
    out["list women 60+: count"] = [f"SELECT count(*) FROM registry_person p WHERE {women}"]
    page("list women 60+: page 1", women, "p.area_path, p.pinyin")
    for label, sqls in out.items():  # OFFSET after LIMIT is not SQL: put it back in place
        out[label] = [s.replace(" OFFSET 950 LIMIT 50", " LIMIT 50 OFFSET 950") for s in sqls]
    return out


def _ms(conn, sql: str) -> float:
    plan = conn.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql).fetchone()[0][0]
    return plan["Planning Time"] + plan["Execution Time"]


def main(argv: list[str]) -> None:
    import psycopg

    from linli.core.scope import path_successor

    url, mode = argv[0], argv[1]
    path = argv[2] if len(argv) > 2 else "00010001"
    with psycopg.connect(url) as conn:
        if mode == "before":
            for index in INDEXES:
                conn.execute(f"DROP INDEX IF EXISTS {index}")  # rolled back below
        for label, sqls in queries(mode, path, path_successor(path)).items():
            times = []
            for _ in range(RUNS):
                total, keys = 0.0, []
                for sql in sqls:
                    if "%s" in sql:  # the page's rows by the keys just read, as page_rows() does
                        sql = sql % (",".join(map(str, keys)) or "0")
                    total += _ms(conn, sql)
                    if sql.startswith("SELECT p.id"):
                        keys = [row[0] for row in conn.execute(sql).fetchall()]
                times.append(total)
            print(
                f"{label:32s} {statistics.median(times):8.2f} ms  ({len(sqls)} quer{'y' if len(sqls) == 1 else 'ies'})"
            )
        conn.rollback()


if __name__ == "__main__":
    main(sys.argv[1:])
