"""``/docs``: the API's documentation page, for the people who build its clients.

Swagger UI, served from the ``flask-swagger-ui`` package with everything it needs (script,
styles, icons), so the page works on a machine with no internet: nothing is fetched from a
CDN. It reads ``/openapi.json`` from this same server, and "Try it out" calls this server.
"""

from __future__ import annotations

from flask import Flask
from flask_swagger_ui import get_swaggerui_blueprint

DOCS_PATH = "/docs"
ENDPOINT = "docs.show"  # public: see backend.identity.access


def init_app(app: Flask) -> None:
    blueprint = get_swaggerui_blueprint(
        DOCS_PATH,
        "/openapi.json",
        config={
            "app_name": "dvc-mobile API",
            "layout": "BaseLayout",  # no top bar: the page shows this API only
            "displayOperationId": True,
            "tryItOutEnabled": False,
            "persistAuthorization": False,
            # Swagger UI would otherwise send the document to validator.swagger.io.
            "validatorUrl": None,
        },
        blueprint_name="docs",
    )
    app.register_blueprint(blueprint)
