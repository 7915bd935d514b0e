"""The audit trail (SPEC §14, issue 3): append-only, hash-chained records of logins, logouts,
permission changes, reveals, sensitive reads, exports and imports, beside the data-change
history of :class:`linli.core.models.ObjectChange`.

Other code records an event with::

    from linli.audit import events, record

    record(events.EXPORT, obj=None, detail={"what": "registry.person", "rows": 120, "filters": {...}})

The actor, IP address, request id and channel come from :mod:`linli.core.context` unless given.
"""


def record(
    event: str,
    *,
    user=None,
    obj=None,
    purpose: str = "",
    detail: dict | None = None,
    outcome: str = "ok",
    area_path: str | None = None,
    request=None,
):
    """Append one audit event and return it (an :class:`~linli.audit.models.AuditEvent`).

    ``event`` is a constant of :mod:`linli.audit.events`. ``user`` and ``request`` default to the
    current action context (the request's user, IP and request id). ``area_path`` defaults to the
    object's area path, else to the area the user's role assignments cover. ``detail`` and
    ``purpose`` must not hold full ID or phone numbers; anything that looks like one is masked
    anyway. ``outcome`` is ``"ok"``, ``"denied"`` or ``"failed"``.

    The record joins the caller's transaction: if that rolls back, so does the record. Record a
    refusal *after* leaving the transaction that is being rolled back.
    """
    from .services import write_event

    return write_event(
        event,
        user=user,
        obj=obj,
        purpose=purpose,
        detail=detail,
        outcome=outcome,
        area_path=area_path,
        request=request,
    )


__all__ = ["record"]
