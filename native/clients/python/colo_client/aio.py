"""The asyncio client: one WebSocket connection, many requests in flight on it.

    async with await AsyncClient.connect("ws://127.0.0.1:8080/v1/ws", api_key=key) as c:
        call = await c.send(Request(id="q1", model="stories260K", prompt="Once upon a time"))
        async for token in call:
            print(token.text, end="")
        result = await call.result()

A reader task routes each server frame to its request (by id) or to the Ping that waits
for it. An Error frame raises ColoError from that request's iterator / result(); a closed
or dropped connection raises TransportError("CLOSED") from every waiting call.
"""

import asyncio
import itertools
import time

import websockets

from .codec import decode_server_frame, encode_cancel, encode_ping, encode_request
from .errors import ColoError, ErrorCode, TransportError
from .types import Accepted, Pong, Result, Token

_END = object()


class Call:
    """One request's frames: iterate for its Tokens, then await result()."""

    def __init__(self, client, request_id):
        self.id = request_id
        self._client = client
        self._queue = asyncio.Queue()
        self._final = None  # Result or an exception
        self.accepted = None  # the Accepted frame, if the server sent one

    def _push(self, item):
        self._queue.put_nowait(item)

    def __aiter__(self):
        return self

    async def __anext__(self):
        while True:
            item = await self.next_event()
            if isinstance(item, Token):
                return item

    async def next_event(self):
        """The next Accepted or Token; StopAsyncIteration after the Result; raises on an Error."""
        if self._final is not None:
            return self._finish()
        item = await self._queue.get()
        if isinstance(item, Accepted):
            self.accepted = item
            return item
        if isinstance(item, Token):
            return item
        self._final = item
        return self._finish()

    def _finish(self):
        if isinstance(self._final, Exception):
            raise self._final
        raise StopAsyncIteration

    async def result(self, timeout=None):
        """Waits for the Result (skipping tokens). Raises ColoError or TransportError."""
        try:
            async for _ in _with_timeout(self, timeout):
                pass
        except asyncio.TimeoutError:
            await self._client.cancel(self.id)
            raise TransportError("TIMEOUT", f"no Result for {self.id} within {timeout} s (cancel sent)") from None
        return self._final

    async def cancel(self):
        await self._client.cancel(self.id)


async def _with_timeout(call, timeout):
    loop = asyncio.get_running_loop()
    deadline = None if timeout is None else loop.time() + timeout
    while True:
        left = None if deadline is None else max(0.0, deadline - loop.time())
        try:
            item = await asyncio.wait_for(call.__anext__(), left)
        except StopAsyncIteration:
            return
        yield item


class AsyncClient:
    def __init__(self, ws):
        self._ws = ws
        self._calls = {}
        self._pings = {}
        self._nonces = itertools.count(1)
        self._closed_error = None
        self.unrouted = asyncio.Queue()  # frames for no known request (an Error with an empty id)
        self._reader = asyncio.get_running_loop().create_task(self._read())

    @classmethod
    async def connect(cls, url, api_key=None, *, max_frame_bytes=64 << 20, connect_timeout=5.0):
        """Opens the connection. Raises TransportError, or ColoError(UNAUTHENTICATED) on HTTP 401."""
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        try:
            ws = await websockets.connect(
                url,
                extra_headers=headers,
                max_size=max_frame_bytes,
                compression=None,
                ping_interval=None,  # the server pings; websockets answers
                open_timeout=connect_timeout,
            )
        except websockets.exceptions.InvalidStatusCode as e:
            # websockets 10.4 does not hand over the refusal's body; 401 is only ever UNAUTHENTICATED.
            if e.status_code == 401:
                raise ColoError(ErrorCode.UNAUTHENTICATED, "the server refused the API key", http_status=401) from None
            raise TransportError("HANDSHAKE_FAILED", f"WebSocket upgrade refused: HTTP {e.status_code}") from None
        except websockets.exceptions.InvalidHandshake as e:
            raise TransportError("HANDSHAKE_FAILED", str(e)) from None
        except asyncio.TimeoutError:
            raise TransportError("TIMEOUT", f"no answer to the WebSocket upgrade within {connect_timeout} s") from None
        except (OSError, websockets.exceptions.InvalidURI) as e:
            raise TransportError("CONNECT_FAILED", f"{url}: {e}") from None
        return cls(ws)

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.close()

    async def _read(self):
        try:
            async for raw in self._ws:
                if isinstance(raw, str):
                    raise TransportError("PROTOCOL", "server sent a text frame; Colo frames are binary")
                msg = decode_server_frame(raw)
                if isinstance(msg, Pong):
                    fut = self._pings.pop(msg.nonce, None)
                    if fut is not None and not fut.done():
                        fut.set_result(msg)
                    continue
                call = self._calls.get(msg.id)
                if call is None:
                    self.unrouted.put_nowait(msg)
                    continue
                if isinstance(msg, (Result, ColoError)):
                    del self._calls[msg.id]
                call._push(msg)
            err = self._closed(self._ws.close_code, self._ws.close_reason)
        except websockets.exceptions.ConnectionClosed as e:
            err = self._closed(e.rcvd.code if e.rcvd else 1006, e.rcvd.reason if e.rcvd else "")
        except TransportError as e:
            err = e
            await self._ws.close(1002)
        self._closed_error = err
        for call in self._calls.values():
            call._push(err)
        self._calls.clear()
        for fut in self._pings.values():
            if not fut.done():
                fut.set_exception(err)
        self._pings.clear()

    @staticmethod
    def _closed(code, reason):
        code = code or 1006
        what = "server closed the connection" if code != 1006 else "connection dropped (no close frame)"
        return TransportError("CLOSED", f"{what} ({code}{' ' + reason if reason else ''})", close_code=code, reason=reason or "")

    async def _send(self, frame):
        if self._closed_error is not None:
            raise self._closed_error
        try:
            await self._ws.send(frame)
        except websockets.exceptions.ConnectionClosed as e:
            raise self._closed(e.rcvd.code if e.rcvd else 1006, e.rcvd.reason if e.rcvd else "") from None

    async def send(self, request, *, check=True):
        """Sends an InferenceRequest; returns its Call. Raises ColoError(INVALID_ARGUMENT) first on
        bad input, unless check=False (the server then answers with its own INVALID_ARGUMENT)."""
        frame = encode_request(request, check=check)
        call = Call(self, request.id)
        self._calls[request.id] = call
        try:
            await self._send(frame)
        except Exception:
            self._calls.pop(request.id, None)
            raise
        return call

    async def complete(self, request, on_token=None, timeout=None):
        """Sends and waits for the Result, calling on_token(token) for each TokenChunk."""
        call = await self.send(request)
        try:
            async for tok in _with_timeout(call, timeout):
                if on_token is not None:
                    on_token(tok)
        except asyncio.TimeoutError:
            await self.cancel(request.id)
            raise TransportError("TIMEOUT", f"no Result for {request.id} within {timeout} s (cancel sent)") from None
        return call._final

    async def cancel(self, request_id):
        await self._send(encode_cancel(request_id))

    async def ping(self, timeout=5.0):
        """One Ping/Pong round trip; Pong.rtt_ns is measured here."""
        nonce = next(self._nonces)
        fut = asyncio.get_running_loop().create_future()
        self._pings[nonce] = fut
        t0 = time.monotonic_ns()
        await self._send(encode_ping(nonce))
        try:
            pong = await asyncio.wait_for(fut, timeout)
        except asyncio.TimeoutError:
            self._pings.pop(nonce, None)
            raise TransportError("TIMEOUT", f"no Pong within {timeout} s") from None
        pong.rtt_ns = time.monotonic_ns() - t0
        return pong

    async def wait_closed(self):
        """Waits until the connection ends; returns the TransportError saying why (CLOSED + close_code)."""
        await asyncio.shield(self._reader)
        return self._closed_error

    async def close(self):
        await self._ws.close()
        await self._reader
