"""How gunicorn serves the API, in one place.

    gunicorn -c python:backend.gunicorn_conf backend.wsgi:app

The container, the production command in the README, the bench and the tests that start a real
server all load this file, so what they run is what we ship; a command-line flag still wins
over it (the tests bind to a free port, the bench sets its own worker count).
"""

# gunicorn's threaded worker whose own early error answers are problem+json (backend/server.py).
worker_class = "backend.server.ProblemWorker"
bind = "0.0.0.0:8000"
workers = 2
# At most DATABASE_POOL_SIZE (10): each thread may hold one pooled connection.
threads = 8

# gthread's threads never block the worker's main loop, so this is not a per-request limit: a
# worker whose loop stops answering the master (a deadlock, a stuck C call) is replaced after
# it. A request's own waits are bounded where they happen (dbwatch.py, the HTTP timeouts).
timeout = 30
# On a restart or a scale-down, requests under way get this long to finish.
graceful_timeout = 20

# gunicorn's defaults, stated to be changed here if ever (the problem details in server.py quote
# the limits in force): a request line over 4,094 bytes is a 414, more than 100 header fields
# or one over 8,190 bytes a 431.
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190

# No access log: it would print query strings; the app logs each request as JSON.
accesslog = None
