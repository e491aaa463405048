#!/bin/sh
# Migrate, then hand over to the command (gunicorn by default). Other commands
# (a worker, a one-off flask command) start without migrating.
set -e
case "$1" in
  gunicorn)
    # Only for a single API container (compose): several pods must share one key file.
    if [ -n "${SIGNING_KEYS_AUTOCREATE:-}" ] && [ ! -f "${SIGNING_KEYS_FILE:-/app/instance/signing_keys.json}" ]; then
      flask keys rotate
    fi
    flask db upgrade
    ;;
esac
exec "$@"
