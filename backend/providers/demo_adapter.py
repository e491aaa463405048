"""The demo provider answered in-process: the provider HTTP client's adapter for it.

Apart from ``demo`` so that the demo provider's pages do not bring requests with them: the
client loads with a process's first call to a provider (``remote._session``).
"""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import urlsplit

import requests
from flask import Flask
from werkzeug.test import Client

from backend.providers.demo import issuer


class InProcessAdapter(requests.adapters.BaseAdapter):
    """Answers requests to the demo provider from this very app, without a socket."""

    def __init__(self, app: Flask):
        super().__init__()
        self.app = app
        self.client = Client(app)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        base_url = "{0.scheme}://{0.netloc}".format(urlsplit(issuer()))
        # An app context of its own: Flask would otherwise run the inner request in the caller's,
        # and the inner answer would end the caller's unit of work (backend.unitofwork).
        with self.app.app_context():
            answer = self.client.open(
                request.path_url,
                method=request.method,
                headers=dict(request.headers),
                data=request.body,
                base_url=base_url,
            )
        response = requests.Response()
        response.status_code = answer.status_code
        response.headers = requests.structures.CaseInsensitiveDict(answer.headers)
        response.raw = io.BytesIO(answer.get_data())
        response.url = request.url
        response.request = request
        return response

    def close(self) -> None:
        pass
