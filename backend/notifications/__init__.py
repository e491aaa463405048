"""Messages to people: the outbox, push/SMS/e-mail channels, the in-app inbox, workers.

Other domains call ``backend.notifications.services.notify(account_id, kind, data)`` inside
their own transaction; the kinds and their texts are in ``templates``.
"""
