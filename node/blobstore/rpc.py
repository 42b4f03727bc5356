"""Transport to a Kubo RPC API (``POST /api/v0/<command>``): timeouts, retries, clear errors.

Connection failures (nothing was sent yet) are retried with exponential backoff, then
reported as :class:`DaemonUnreachable` naming the URL; a failure once the request is under way
is not retried (a streamed body cannot be replayed). Error answers become
:class:`BlobNotFound` or :class:`DaemonError` carrying the daemon's own message.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx

from node.exceptions import BlobNotFound, DaemonError, DaemonUnreachable

#: Daemon messages that mean "absent" (Kubo's and js-ipfs's wordings; offline lookups time out).
_NOT_FOUND = ("not found", "timed out", "not pinned", "no link named")
_RETRYABLE = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class RpcClient:
    """One connection pool to one daemon; every response is streamed."""

    def __init__(
        self,
        api_url: str,
        *,
        timeout: float,
        retries: int,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self._retries = retries
        self._client = httpx.Client(
            base_url=f"{self.api_url}/api/v0/", timeout=timeout, transport=transport
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def request(self, command: str, params: dict[str, str], **kwargs: Any) -> httpx.Request:
        """Build a POST for ``command`` (extra ``kwargs`` go to httpx, e.g. ``content``)."""
        return self._client.build_request("POST", command, params=params, **kwargs)

    def send(self, request: httpx.Request) -> httpx.Response:
        """Send with retries on connection failures; return an open, streaming response."""
        delay = 0.2
        for attempt in range(self._retries + 1):
            try:
                response = self._client.send(request, stream=True)
            except _RETRYABLE as exc:
                if attempt == self._retries:
                    raise DaemonUnreachable(
                        f"IPFS daemon at {self.api_url} is unreachable after "
                        f"{attempt + 1} attempts: {exc}"
                    ) from exc
                time.sleep(delay)
                delay *= 2
                continue
            except httpx.TransportError as exc:  # timeouts, resets: the request was under way
                raise DaemonUnreachable(
                    f"IPFS daemon at {self.api_url} failed during the request: {exc!r}"
                ) from exc
            if response.status_code >= 400:
                response.read()
                response.close()
                raise _error(response)
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def call(self, command: str, **params: str) -> Any:
        """A command whose answer is one JSON document."""
        response = self.send(self.request(command, params))
        try:
            return json.loads(response.read() or b"null")
        except ValueError as exc:
            raise DaemonError(f"{command}: the daemon answered with invalid JSON") from exc
        except httpx.TransportError as exc:
            raise DaemonUnreachable(f"{command}: the answer broke off: {exc!r}") from exc
        finally:
            response.close()

    def lines(self, response: httpx.Response, command: str) -> Iterator[str]:
        """Non-empty lines of a newline-delimited JSON answer; closes the response."""
        try:
            for line in response.iter_lines():
                if line.strip():
                    yield line
        except httpx.TransportError as exc:
            raise DaemonUnreachable(f"{command}: the answer broke off: {exc!r}") from exc
        finally:
            response.close()

    def stream(self, command: str, **params: str) -> Iterator[bytes]:
        """A command whose answer is raw bytes, streamed."""
        response = self.send(self.request(command, params))
        try:
            yield from response.iter_bytes()
        except httpx.TransportError as exc:
            raise DaemonUnreachable(f"{command}: the stream broke off: {exc!r}") from exc
        finally:
            response.close()


def _error(response: httpx.Response) -> Exception:
    """Turn an RPC error answer into our error, with the daemon's own message."""
    try:
        message = str(json.loads(response.content).get("Message", ""))
    except (ValueError, AttributeError):
        message = response.text[:200]
    command = response.request.url.path.rsplit("/api/v0/", 1)[-1]
    if any(marker in message.lower() for marker in _NOT_FOUND):
        return BlobNotFound(f"{command}: {message}")
    return DaemonError(f"{command}: HTTP {response.status_code}: {message}")
