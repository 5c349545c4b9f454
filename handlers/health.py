"""Liveness and readiness probes."""
from __future__ import annotations

import logging

import redis
from flask import Blueprint
from sqlalchemy.exc import SQLAlchemyError

from services import get_services
from store import KeyStoreUnavailable

logger = logging.getLogger(__name__)
bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> tuple[dict[str, str], int]:
    return {"status": "ok"}, 200


@bp.get("/readyz")
def readyz() -> tuple[dict[str, str], int]:
    services = get_services()
    checks = {"database": "ok", "redis": "ok", "key_store": "ok"}
    try:
        services.db.ping()
    except SQLAlchemyError as exc:
        logger.warning("readiness: database unreachable (%s)", type(exc).__name__)
        checks["database"] = "unreachable"
    try:
        services.redis.ping()
    except redis.RedisError as exc:
        logger.warning("readiness: redis unreachable (%s)", type(exc).__name__)
        checks["redis"] = "unreachable"
    try:
        services.key_store.ping()
    except KeyStoreUnavailable as exc:
        logger.warning("readiness: %s", exc)
        checks["key_store"] = "unreachable"
    ok = all(v == "ok" for v in checks.values())
    return {"status": "ok" if ok else "unavailable", **checks}, 200 if ok else 503
