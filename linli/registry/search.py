"""The one search box: name, pinyin, initials, ID or its tail, phone or its tail, household, room.

What the box holds decides which indexes are asked (never a decrypting scan): an 18-character ID
goes to the ID blind index, 4–6 trailing characters and an 11-digit phone to the 4-character
tails' blind indexes (a longer tail or the full phone filters what they find), letters to the
pinyin keys, other text to the name keys, ``3-2-501`` / ``3栋2单元501`` to the house room key.

What a name matches (张建国, former name 张国):

- Chinese text: any part of the name or the former name — ``张建国``, ``张建``, ``建国``, ``国``,
  ``张国`` all find him. Ranked: the full name, then a name beginning with the text, then the rest.
- Letters: the start of any reading's full pinyin or initials — ``zhangjianguo``, ``zhang``,
  ``zhangj``, ``zjg``, ``zj``, ``z``; not a later syllable (``jianguo``) nor the former name's
  pinyin. Ranked: the full pinyin or initials, then their prefixes, then other readings.

Both are word-prefix patterns on a keys column (``LIKE '% zj%'`` on ``pinyin_keys``, ``LIKE
'% 建国%'`` on ``name_keys``, which holds every suffix of both names), which PostgreSQL answers from
a trigram (pg_trgm) GIN index from the first character's word start on, where ``LIKE '%建国%'`` on
the name itself offers no trigram and scans the scope. SQLite scans (no index; small databases).
Results are ranked: exact identifiers first, then name and pinyin prefixes, then other matches.
"""

import re

from django.db.models import Case, IntegerField, Q, Value, When

from linli.core.validators import normalize_id_number, normalize_phone

from .models import ID_TAILS, Membership, blind, id_tail_q, phone_q, phone_tail_q

_ROOM = re.compile(r"^(\w+?)(?:栋|幢|号楼|-|#)(?:(\w+?)(?:单元|-))?(\w+?)(?:室|号)?$")
_LETTERS = re.compile(r"^[a-z]+$")


def room_key(text: str) -> str | None:
    """``3栋2单元501`` / ``3-2-501`` / ``3#501`` → ``3-2-501`` / ``3-501``; ``None`` if not a room."""
    match = _ROOM.match(text)
    if not match:
        return None
    parts = [p for p in match.groups() if p]
    if len(parts) < 2 or not all(p.isascii() and p.isalnum() for p in parts):
        return None
    return "-".join(parts)


def search_q(text: str) -> tuple[Q, list[tuple[Q, int]]]:
    """The filter for ``text`` and the (condition, rank) pairs used to order the results."""
    raw = (text or "").strip()
    if not raw:
        return Q(), []
    ranks: list[tuple[Q, int]] = []
    q = Q(pk__in=[])
    compact = normalize_id_number(raw)
    lowered = raw.lower().replace(" ", "")

    if len(compact) == 18 and compact[:17].isdigit():
        cond = Q(id_number_bidx=blind("id", compact))
        q |= cond
        ranks.append((cond, 0))
    phone = normalize_phone(raw)
    if phone.isdigit() and len(phone) == 11 and phone.startswith("1"):
        cond = phone_q(phone)
        q |= cond
        ranks.append((cond, 0))
    if len(compact) in ID_TAILS and compact[:-1].isdigit() and (compact[-1].isdigit() or compact[-1] == "X"):
        cond = id_tail_q(compact)
        q |= cond
        ranks.append((cond, 1))
        if len(compact) == 4 and compact.isdigit():
            cond = phone_tail_q(compact)
            q |= cond
            ranks.append((cond, 1))
    if raw.isdigit() and len(raw) >= 6:
        # A subquery, not a join through memberships: a join can repeat a person, and the
        # DISTINCT it then needs made every search sort and count whole rows.
        members = Membership.objects.filter(household__number=raw, end_date__isnull=True).values("person_id")
        cond = Q(pk__in=members)
        q |= cond
        ranks.append((cond, 0))
    key = room_key(raw)
    if key:
        cond = Q(house__room_key=key) | Q(house__room_key__endswith="-" + key)
        q |= cond
        ranks.append((cond, 1))
    if _LETTERS.match(lowered):
        exact = Q(pinyin=lowered) | Q(pinyin_initials=lowered)
        prefix = Q(pinyin__startswith=lowered) | Q(pinyin_initials__startswith=lowered)
        # Every reading's full pinyin and initials are words of pinyin_keys (the first reading's
        # are pinyin and pinyin_initials), so this word-prefix match holds the other two: it
        # alone filters, as one trigram-index lookup (the ranks still tell them apart).
        variant = Q(pinyin_keys__contains=f" {lowered}")
        q |= variant
        ranks += [(exact, 2), (prefix, 3), (variant, 4)]
    elif not raw.isascii():
        exact = Q(name=raw)
        prefix = Q(name__startswith=raw)
        if any(c.isspace() for c in raw):
            other = Q(name__contains=raw) | Q(former_name__contains=raw)  # rare: not a word prefix
        else:
            # The text occurs in the name or the former name: a word prefix of name_keys, which
            # holds their every suffix (one trigram-index lookup, even for two characters).
            other = Q(name_keys__contains=f" {raw}")
        q |= other
        ranks += [(exact, 2), (prefix, 3), (other, 5)]
    return q, ranks


def search_persons(queryset, text: str):
    """Filter and rank ``queryset`` (already scoped by the caller) by the search box text."""
    q, ranks = search_q(text)
    if not ranks:
        return queryset
    rank = Case(
        *[When(cond, then=Value(r)) for cond, r in ranks], default=Value(9), output_field=IntegerField()
    )
    # Every condition is on the person's own row or a to-one relation (house): no duplicates, no DISTINCT.
    return queryset.filter(q).annotate(search_rank=rank).order_by("search_rank", "pinyin", "pk")
