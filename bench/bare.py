"""The yardstick: a bare Flask JSON endpoint, served by the same gunicorn settings as the API.

Only ``bench/api.py`` serves it (``gunicorn bare:app`` from this directory); it is not part of
the application.
"""

from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/bare")
def bare():
    return jsonify(status="ok", service="dvc-mobile")
