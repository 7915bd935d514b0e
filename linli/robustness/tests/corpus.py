"""The bad-input corpus, as data: values by kind, and which kinds each field of each form gets.

A *refused* value must come back as a form error (status 200 or 400, the field named, nothing
saved). A *harmless* value (markup, SQL) may be refused or kept as text; if kept, the page that
shows it must escape it. Every form spec ends with its valid submission, the control that proves
the refusals were about the bad value.
"""

import datetime as dt

from linli.core.validators import compose_id_number

GOOD_ID = compose_id_number("420105", dt.date(1980, 5, 17), 123)
FUTURE = (dt.date.today() + dt.timedelta(days=400)).isoformat()

#: kind → [(label, value)] that must be refused
REFUSED = {
    "id_number": [
        ("bad check digit", GOOD_ID[:17] + ("0" if GOOD_ID[17] != "0" else "1")),
        ("Excel scientific notation", "4.20105E+17"),
        ("wrong length (15+3)", GOOD_ID[:15] + "123"[: 18 - 15 + 1]),
        ("wrong length (short)", GOOD_ID[:14]),
        (
            "impossible birth date in ID",
            compose_id_number("420105", dt.date(1980, 5, 17), 1)[:10] + "0230" + "0011",
        ),
        ("letters", "42010519800517ABCD"),
        ("NUL byte", GOOD_ID[:9] + "\x00" + GOOD_ID[10:]),
    ],
    "date": [
        ("2月30日", "2024-02-30"),
        ("Chinese words", "二〇二四年二月三十日"),
        ("year zero", "0000-01-01"),
        ("SQL fragment", "2024-01-01' OR '1'='1"),
        ("NUL byte", "2024-01-\x0001"),
    ],
    "past_date": [("in the future", FUTURE)],
    "phone": [
        ("too short", "1381234"),
        ("letters", "138abcd1234"),
        ("SQL fragment", "1' OR 1=1 --"),
        ("NUL byte", "13800\x00138000"),
    ],
    "text": [("NUL byte", "张\x00三")],
    "short_text": [("over-long", "长" * 5000)],
    "required_text": [("only whitespace", "   \t  "), ("empty", "")],
    "choice": [("not a choice", "no-such-choice"), ("SQL fragment", "1; DROP TABLE registry_person")],
    "number": [("letters", "abc"), ("overflow", "1e999"), ("not a number", "NaN"), ("out of range", "200")],
    "email": [("no domain", "wang@"), ("markup", "<script>@x.com"), ("NUL byte", "a\x00@b.cn")],
    "pk": [("unknown id", "999999999"), ("not a number", "abc"), ("huge", "9" * 40), ("negative", "-1")],
}

#: values that may be kept as text, but never executed or rendered raw
HARMLESS = [
    ("HTML/script", "<script>alert('x')</script>"),
    ("SQL fragment", "'; DROP TABLE registry_person; --"),
    ("control characters", "张\x01\x1b[31m三"),
    ("mojibake (GBK read as Latin-1)", "ÕÅÈý"),
    ("right-to-left override", "张\u202e三"),
]
