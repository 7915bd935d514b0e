"""The area a user is looking at, remembered for the session (the area-tree panel sets it).

Clicking a node of the area tree opens a list with ``?area=<pk>``; every list that filters by
area (people, households, houses, buildings, events) then keeps that area while the user moves
between lists, until they pick another node, "all areas", or clear the filters (``?area=``).
The filter itself stays an ordinary, visible filter field: scoping is still the list's own.
"""

from django.http import QueryDict

SESSION_KEY = "linli_area"
FIELD = "area"


def apply(request) -> QueryDict:
    """The list's query with the remembered area filled in; remembers a newly chosen one."""
    query = request.GET.copy()
    session = getattr(request, "session", None)
    if session is None:
        return query
    if FIELD in query:
        value = query.get(FIELD, "")
        if value.isdigit():
            session[SESSION_KEY] = int(value)
        else:
            session.pop(SESSION_KEY, None)
    elif session.get(SESSION_KEY):
        query[FIELD] = str(session[SESSION_KEY])
    return query


def current(request) -> int | None:
    session = getattr(request, "session", None)
    return session.get(SESSION_KEY) if session is not None else None
