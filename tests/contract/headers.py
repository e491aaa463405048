"""Holding live answers to the headers their operation declares in the document.

A response may carry only headers its operation's answer (for that status) declares, and must
carry every one declared ``required``. Standard transport headers are not declared by any
operation and are ignored (``TRANSPORT``): they belong to HTTP and the servers between the app
and us, not to the contract, and a generated client never reads them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tests.contract.document import resolve
from tests.helpers.stacks import IsolatedClient

TRANSPORT = frozenset(
    {
        "content-type",
        "content-length",
        "date",
        "vary",
        "cache-control",
        "server",
        "connection",
        "transfer-encoding",
        "content-encoding",
    }
)
_CONVERTER = re.compile(r"<(?:[^>:]*:)?(\w+)>")


@dataclass
class HeaderContract:
    """Checks each answer it is shown against ``document``; keeps what it found."""

    app: object
    document: dict
    problems: list[str] = field(default_factory=list)
    seen: set[tuple[str, str, int]] = field(default_factory=set)

    def operation(self, method: str, path: str) -> tuple[str, dict] | None:
        """The document's path and operation that serve ``method path``, if any."""
        adapter = self.app.url_map.bind("localhost")
        try:
            rule, _ = adapter.match(path, method=method, return_rule=True)
        except Exception:  # no route: the answer is the app's own 404 or 405
            return None
        template = _CONVERTER.sub(r"{\1}", rule.rule)
        operation = self.document["paths"].get(template, {}).get(method.lower())
        return (template, operation) if operation is not None else None

    def declared(self, operation: dict, status: int) -> dict[str, bool] | None:
        """Header name (lower case) -> required, for the answer with ``status``."""
        response = operation["responses"].get(str(status))
        if response is None:
            return None
        response = resolve(self.document, response)
        return {
            name.lower(): bool(resolve(self.document, header).get("required"))
            for name, header in response.get("headers", {}).items()
        }

    def check(self, method: str, path: str, response) -> None:
        found = self.operation(method, path)
        if found is None:
            return
        template, operation = found
        where = f"{method} {template} {response.status_code}"
        self.seen.add((method.lower(), template, response.status_code))
        declared = self.declared(operation, response.status_code)
        if declared is None:
            self.problems.append(f"{where}: status not in the document")
            return
        sent = {name.lower() for name, _ in response.headers} - TRANSPORT
        for name in sorted(sent - declared.keys()):
            self.problems.append(f"{where}: sends {name}, which is not declared")
        for name in sorted(n for n, required in declared.items() if required and n not in sent):
            self.problems.append(f"{where}: misses {name}, declared as always sent")


class CheckedClient(IsolatedClient):
    """A test client that shows every answer to the contract of the app it calls."""

    contract: HeaderContract

    def open(self, *args, **kwargs):
        response = super().open(*args, **kwargs)
        self.contract.check(response.request.method, response.request.path, response)
        return response


def checked_client(app, contract: HeaderContract) -> CheckedClient:
    client_class = type("Checked", (CheckedClient,), {"contract": contract})
    return client_class(app, app.response_class, use_cookies=True)
