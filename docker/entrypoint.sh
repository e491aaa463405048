#!/bin/sh
# Migrate, then hand over to the command (gunicorn by default). Other commands
# (a worker, a one-off flask command) start without migrating.
set -e
case "$1" in
  gunicorn) flask db upgrade ;;
esac
exec "$@"
