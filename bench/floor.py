"""The floor: the cheapest authenticated read a dossier view could be, served like the API.

A Flask endpoint that checks our ES256 access token with joserfc (signature, ``typ``, issuer,
audience, expiry), reads one dossier by primary key and owner through a SQLAlchemy pool on
PostgreSQL, and dumps the row with ``json.dumps``. No session liveness, no rate limit, no
schema, no ETag: what any implementation of "show me my dossier" must pay at least. Only
``bench/api.py`` serves it (``gunicorn floor:app`` from this directory, with the API's
settings in the environment); it is not part of the application.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import sqlalchemy as sa
from flask import Flask, Response, request
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet

app = Flask(__name__)
_KEYS = KeySet(
    [
        ECKey.import_key(entry["jwk"])
        for entry in json.loads(Path(os.environ["SIGNING_KEYS_FILE"]).read_text())
    ]
)
_ENGINE = sa.create_engine(
    os.environ["DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1),
    pool_size=4,
)
_ISSUER = os.environ.get("TOKEN_ISSUER", "urn:dvc-mobile")
_AUDIENCE = os.environ.get("TOKEN_AUDIENCE", "dvc-mobile-api")
_READ = sa.text(
    "SELECT id, code, status, updated_at FROM dossiers WHERE id = :id AND citizen_id = :owner"
)


def _claims() -> dict | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    try:
        decoded = jwt.decode(token, _KEYS, algorithms=["ES256"])
        jwt.JWTClaimsRegistry(
            now=int(time.time()),
            leeway=5,
            iss={"essential": True, "value": _ISSUER},
            aud={"essential": True, "value": _AUDIENCE},
            exp={"essential": True},
        ).validate(decoded.claims)
    except (JoseError, ValueError):
        return None
    return decoded.claims if decoded.header.get("typ") == "at+jwt" else None


@app.get("/ready")
def ready():
    return Response("{}", mimetype="application/json")


@app.get("/floor/<dossier_id>")
def floor(dossier_id: str):
    claims = _claims()
    if claims is None:
        return Response('{"status": 401}', status=401, mimetype="application/json")
    with _ENGINE.connect() as connection:
        row = connection.execute(_READ, {"id": dossier_id, "owner": claims["sub"]}).first()
    if row is None:
        return Response('{"status": 404}', status=404, mimetype="application/json")
    body = {"id": row.id, "code": row.code, "status": row.status, "updated_at": str(row.updated_at)}
    return Response(json.dumps(body), mimetype="application/json")
