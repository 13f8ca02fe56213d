"""Roles and what each may do. Routes declare a permission; roles map to sets of them."""

from __future__ import annotations

from enum import StrEnum


class Permission(StrEnum):
    CATALOG_READ = "catalog:read"
    CATALOG_WRITE = "catalog:write"
    SALES_READ = "sales:read"
    SALES_WRITE = "sales:write"
    EVENTS_READ = "events:read"
    USERS_ADMIN = "users:admin"
    API_KEYS_ADMIN = "api_keys:admin"
    FLAGS_ADMIN = "flags:admin"
    TENANT_ADMIN = "tenant:admin"
    WEBHOOKS_ADMIN = "webhooks:admin"
    MEASUREMENT_READ = "measurement:read"
    MEASUREMENT_WRITE = "measurement:write"
    METRICS_READ = "metrics:read"
    METRICS_WRITE = "metrics:write"
    BOOKINGS_READ = "bookings:read"
    BOOKINGS_WRITE = "bookings:write"
    ATTRIBUTION_READ = "attribution:read"
    ATTRIBUTION_WRITE = "attribution:write"
    MATCH_READ = "match:read"
    MATCH_WRITE = "match:write"
    DASHBOARD_CREATOR = "dashboard:creator"
    DASHBOARD_ADVERTISER = "dashboard:advertiser"
    DASHBOARD_OPS = "dashboard:ops"


ALL = frozenset(Permission)

ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    "owner": ALL,
    "admin": ALL,
    "sales": frozenset(
        {
            Permission.CATALOG_READ,
            Permission.SALES_READ,
            Permission.SALES_WRITE,
            Permission.EVENTS_READ,
            Permission.MEASUREMENT_READ,
            Permission.METRICS_READ,
            Permission.BOOKINGS_READ,
            Permission.BOOKINGS_WRITE,
            Permission.ATTRIBUTION_READ,
            Permission.ATTRIBUTION_WRITE,
            Permission.MATCH_READ,
            Permission.MATCH_WRITE,
        }
    ),
    "ops": frozenset(
        {
            Permission.CATALOG_READ,
            Permission.CATALOG_WRITE,
            Permission.SALES_READ,
            Permission.EVENTS_READ,
            Permission.MEASUREMENT_READ,
            Permission.MEASUREMENT_WRITE,
            Permission.METRICS_READ,
            Permission.METRICS_WRITE,
            Permission.BOOKINGS_READ,
            Permission.BOOKINGS_WRITE,
            Permission.ATTRIBUTION_READ,
            Permission.ATTRIBUTION_WRITE,
            Permission.MATCH_READ,
            Permission.MATCH_WRITE,
            Permission.DASHBOARD_ADVERTISER,
            Permission.DASHBOARD_OPS,
        }
    ),
    "creator": frozenset(
        {
            Permission.CATALOG_READ,
            Permission.CATALOG_WRITE,
            Permission.SALES_READ,
            Permission.MEASUREMENT_READ,
            Permission.METRICS_READ,
            Permission.METRICS_WRITE,
            Permission.BOOKINGS_READ,
            Permission.MATCH_READ,
            Permission.DASHBOARD_CREATOR,
        }
    ),
    # Read-only, and only their own sponsor's campaigns, insertion orders and conversion sources (enforced in the
    # services).
    "advertiser": frozenset(
        {
            Permission.CATALOG_READ,
            Permission.SALES_READ,
            Permission.BOOKINGS_READ,
            Permission.ATTRIBUTION_READ,
            Permission.MATCH_READ,
            Permission.DASHBOARD_ADVERTISER,
        }
    ),
}

# Who may hand out which role: nobody grants a role above their own.
ASSIGNABLE_ROLES: dict[str, frozenset[str]] = {
    "owner": frozenset(ROLE_PERMISSIONS),
    "admin": frozenset(ROLE_PERMISSIONS) - {"owner"},
}


def permissions_for(role: str) -> frozenset[Permission]:
    return ROLE_PERMISSIONS.get(role, frozenset())
