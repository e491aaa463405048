"""One env-driven configuration. The defaults run with no service at all (SQLite, memory)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


def _int(environ: Mapping[str, str], name: str, default: int) -> int:
    value = environ.get(name)
    return int(value) if value not in (None, "") else default


def database_url(url: str) -> str:
    """Accept the usual ``postgres://`` spellings and pick the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _instance_secret(instance: Path, name: str) -> str:
    """A development secret kept under instance/ so restarts do not invalidate codes and tokens."""
    path = instance / name
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    path.write_text(value)
    path.chmod(0o600)
    return value


def load(instance_path: str, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    environ = os.environ if environ is None else environ
    instance = Path(environ.get("INSTANCE_PATH") or instance_path)
    env = environ.get("APP_ENV", "development")
    if env not in {"development", "production", "testing"}:
        raise RuntimeError(f"APP_ENV must be development, production or testing, not {env!r}")

    secret_key = environ.get("SECRET_KEY")
    if not secret_key:
        if env == "production":
            raise RuntimeError("SECRET_KEY must be set when APP_ENV=production")
        secret_key = _instance_secret(instance, "secret_key")

    storage_url = environ.get("STORAGE_URL") or None
    if storage_url:
        parts = urlsplit(storage_url)
        if parts.scheme not in ("file", "s3") or (parts.scheme == "s3" and not parts.netloc):
            raise RuntimeError("STORAGE_URL must be file:///path or s3://bucket[/prefix]")
    addressing_style = environ.get("S3_ADDRESSING_STYLE") or "auto"
    if addressing_style not in {"auto", "path", "virtual"}:
        raise RuntimeError("S3_ADDRESSING_STYLE must be auto, path or virtual")

    return {
        "APP_ENV": env,
        "INSTANCE_PATH": str(instance),
        "SECRET_KEY": secret_key,
        "SQLALCHEMY_DATABASE_URI": database_url(
            environ.get("DATABASE_URL") or f"sqlite:///{instance / 'dvc.sqlite3'}"
        ),
        "SQLALCHEMY_ENGINE_OPTIONS": {
            "pool_pre_ping": True,
        },
        "REDIS_URL": environ.get("REDIS_URL") or None,
        # Uploads are the biggest bodies; JSON bodies have their own, much smaller, limit.
        "MAX_CONTENT_LENGTH": _int(environ, "MAX_CONTENT_LENGTH", 25 * 1024 * 1024),
        "MAX_JSON_BYTES": _int(environ, "MAX_JSON_BYTES", 256 * 1024),
        # Attachments: None means a "blobs" directory under INSTANCE_PATH (see backend.storage).
        "STORAGE_URL": storage_url,
        "S3_ENDPOINT_URL": environ.get("S3_ENDPOINT_URL") or None,
        "S3_REGION": environ.get("S3_REGION") or None,
        "S3_ADDRESSING_STYLE": addressing_style,
        "TRUSTED_PROXY_COUNT": _int(environ, "TRUSTED_PROXY_COUNT", 0),
        "LOG_LEVEL": environ.get("LOG_LEVEL", "INFO"),
        "PROBLEM_TYPE_BASE": environ.get("PROBLEM_TYPE_BASE", "urn:dvc-mobile:problem:"),
        # flask-smorest
        "API_TITLE": "dvc-mobile",
        "API_VERSION": "1.0.0",
        "OPENAPI_VERSION": "3.1.0",
        "OPENAPI_URL_PREFIX": "/",
        "OPENAPI_JSON_PATH": "openapi.json",
        "API_SPEC_OPTIONS": {
            "info": {
                "description": (
                    "API for the dvc-mobile smartphone app: online public services "
                    "(Circular 01/2018/TT-VPCP, Article 21). Errors are RFC 9457 problem+json."
                ),
            },
            "servers": [{"url": "/"}],
        },
        # Flask-Limiter
        "RATELIMIT_STORAGE_URI": environ.get("REDIS_URL") or "memory://",
        "RATELIMIT_HEADERS_ENABLED": True,
        "RATELIMIT_KEY_PREFIX": "dvc-rl",
    }
