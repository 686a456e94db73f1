"""The blocking wrapper: the asyncio client on a private event loop in one background thread.

    with Client.connect("ws://127.0.0.1:8080/v1/ws") as c:
        for token in c.stream(Request(id="q1", model="stories260K", prompt="Once upon a time")):
            print(token.text, end="")
        print(c.last_result.finish_reason)

Same methods and errors as AsyncClient, without `await`.
"""

import asyncio
import threading

from .aio import AsyncClient


class Client:
    def __init__(self, loop, thread, client):
        self._loop = loop
        self._thread = thread
        self._c = client
        self.last_result = None  # the Result of the last stream() that finished

    @classmethod
    def connect(cls, url, api_key=None, **kw):
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="colo-client", daemon=True)
        thread.start()
        try:
            client = asyncio.run_coroutine_threadsafe(AsyncClient.connect(url, api_key, **kw), loop).result()
        except BaseException:
            loop.call_soon_threadsafe(loop.stop)
            thread.join()
            loop.close()
            raise
        return cls(loop, thread, client)

    def _run(self, coro, timeout=None):
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def complete(self, request, on_token=None, timeout=None):
        return self._run(self._c.complete(request, on_token, timeout))

    def stream(self, request):
        """Yields the request's Tokens; then the Result is in self.last_result."""
        call = self._run(self._c.send(request))
        while True:
            try:
                yield self._run(call.__anext__())
            except StopAsyncIteration:
                self.last_result = call._final
                return

    def cancel(self, request_id):
        self._run(self._c.cancel(request_id))

    def ping(self, timeout=5.0):
        return self._run(self._c.ping(timeout))

    def wait_closed(self):
        return self._run(self._c.wait_closed())

    def close(self):
        if self._loop.is_closed():
            return
        try:
            self._run(self._c.close(), timeout=5)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
            self._loop.close()
