"""WSGI entry point for gunicorn: ``gunicorn backend.wsgi:app``."""

from backend import create_app
from backend.identity import tokens
from backend.storage import get_store

app = create_app(commands=False)  # a server runs no `flask` command
with app.app_context():
    tokens.keys()  # refuse to boot without signing keys rather than fail the first sign-in
    get_store()  # nor with a storage URL it cannot use; S3's client loads now, not mid-upload
