"""Area scope: every row that belongs somewhere carries its area's materialised path.

"Everything below this node" is then a *range* on one indexed column (STYLE.md "Scope"):
``path >= p AND path < successor(p)``. A range, unlike ``LIKE 'p%'``, uses a plain B-tree index on
both SQLite and PostgreSQL.
"""

from django.db import models

# django-treebeard's default alphabet for MP_Node paths.
PATH_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def path_successor(path: str) -> str | None:
    """The smallest path greater than every path that starts with ``path``.

    ``"0001"`` → ``"0002"``; ``"000Z"`` → ``"001"``. ``None`` when no such bound exists
    (a path of only the last alphabet character), meaning "no upper bound".
    """
    chars = list(path)
    while chars:
        last = chars.pop()
        index = PATH_ALPHABET.index(last)
        if index + 1 < len(PATH_ALPHABET):
            chars.append(PATH_ALPHABET[index + 1])
            return "".join(chars)
    return None


def path_range_q(path: str, field: str = "area_path") -> models.Q:
    """Q object matching ``path`` and everything below it."""
    q = models.Q(**{f"{field}__gte": path})
    upper = path_successor(path)
    if upper is not None:
        q &= models.Q(**{f"{field}__lt": upper})
    return q


def paths_q(paths, field: str = "area_path") -> models.Q:
    """Union of several subtrees (a user with several area assignments)."""
    q = models.Q(pk__in=[])
    for path in paths:
        q |= path_range_q(path, field)
    return q


class ScopedQuerySet(models.QuerySet):
    def within(self, *areas_or_paths) -> "ScopedQuerySet":
        """Rows in any of the given subtrees (areas or their paths)."""
        paths = [getattr(a, "path", a) for a in areas_or_paths]
        return self.filter(paths_q(paths))
