"""Reference data shipped with Linli: code tables, group types, roles, event categories, calendar.

Each app keeps its data files and its own loader; this module runs them together. Migrations load
the data the first time; ``linli init`` runs :func:`load_reference_data` on every upgrade so the
database follows the files (upserts; retired codes are deactivated, never deleted).
"""

from django.db import transaction


@transaction.atomic
def load_reference_data() -> dict[str, int]:
    from linli.accounts.roles import load_roles
    from linli.codes import loader, lookup
    from linli.events.loader import load_calendar_days, load_categories
    from linli.grid.loader import load_visit_rules
    from linli.registry.groups import load_group_types

    counts = {f"codes.{key}": n for key, n in loader.load_all().items()}
    counts["group_types"] = load_group_types()
    counts["roles"] = load_roles()
    counts["event_categories"] = load_categories()
    counts["calendar_days"] = load_calendar_days()
    counts["visit_rules"] = load_visit_rules()
    lookup.clear_cache()
    return counts
