#!/usr/bin/env python3
"""check.py URL SCENARIO [ARGS...]: the Python side of the SDK conformance suite
(test/model/sdk-conformance.test.ts); the twin of colo_check (C++), same scenarios, same
JSON lines:

  ping                      three Ping/Pong round trips
  stream MODEL PROMPT MAX   greedy streamed completion: chunks, index order, text
  result MODEL PROMPT MAX   greedy non-streamed completion (no TokenChunk expected)
  cancel MODEL              cancel after the first token, then one more request
  deadline MODEL MS         a long request with deadline_ms = MS
  classify MODEL TEXT       a classifier request: the typed signals
  bad-model                 a request for a model that does not exist
  wait-close MODEL          a long stream; prints "ready" at its first token, then waits
                            for the server to close the connection

The API key, if any, comes from COLO_API_KEY. Exit: 0 done, 1 ColoError, 2 TransportError.
"""

import asyncio
import json
import os
import sys

from colo_client import AsyncClient, ColoError, Request, Sampling, TransportError, finish_reason_name

ONCE = "Once upon a time"


def emit(obj):
    print(json.dumps(obj, ensure_ascii=False), flush=True)


def result_json(r, chunks, indexes_ok, streamed):
    return {
        "event": "result",
        "id": r.id,
        "finish": finish_reason_name(r.finish_reason),
        "tokens": r.usage.completion_tokens,
        "prompt_tokens": r.usage.prompt_tokens,
        "chunks": chunks,
        "indexes_ok": indexes_ok,
        "streamed": streamed,
        "text": r.text,
        "route": r.route.kind.name.lower(),
        "provider": r.route.provider,
        "model": r.route.model,
        "total_us": r.timings.total_us,
        "signals": [
            {
                "ticker": s.ticker,
                "direction": int(s.direction),
                "label": s.label,
                "score": s.score,
                "confidence": s.confidence,
                "abstain": s.abstain,
            }
            for s in r.signals
        ],
    }


def error_json(e, chunks=0):
    return {
        "event": "error",
        "id": e.id,
        "code": e.code.name,
        "message": e.message,
        "field": e.field,
        "retry_after_ms": e.retry_after_ms,
        "http_status": e.http_status,
        "chunks": chunks,
    }


async def run(c, req, cancel_after_first=False, ready_on_first=False):
    """Runs one request to its end, printing its final event. True on a Result."""
    call = await c.send(req)
    chunks, ok, streamed = 0, True, ""
    try:
        async for tok in call:
            ok = ok and tok.index == chunks
            streamed += tok.text
            chunks += 1
            if chunks == 1 and cancel_after_first:
                await call.cancel()
            if chunks == 1 and ready_on_first:
                emit({"event": "ready"})
    except ColoError as e:
        emit(error_json(e, chunks))
        return False
    emit(result_json(await call.result(), chunks, ok, streamed))
    return True


def request(rid, model, prompt, max_tokens, stream):
    return Request(id=rid, model=model, prompt=prompt, sampling=Sampling(max_tokens=max_tokens, temperature=0.0), stream=stream)


async def scenario(c, name, args):
    if name == "ping":
        for _ in range(3):
            p = await c.ping()
            emit({"event": "pong", "nonce": p.nonce, "rtt_us": p.rtt_ns // 1000, "server_time_ns": p.server_time_ns})
        return 0
    if name in ("stream", "result"):
        return 0 if await run(c, request("q1", args[0], args[1], int(args[2]), name == "stream")) else 1
    if name == "cancel":
        await run(c, request("long", args[0], ONCE, 480, True), cancel_after_first=True)
        return 0 if await run(c, request("after", args[0], ONCE, 4, True)) else 1
    if name == "deadline":
        r = request("dl", args[0], ONCE, 480, True)
        r.deadline_ms = int(args[1])
        return 0 if await run(c, r) else 1
    if name == "classify":
        return 0 if await run(c, request("clf", args[0], args[1], 1, False)) else 1
    if name == "bad-model":
        return 0 if await run(c, request("bad", "no-such-model", ONCE, 4, True)) else 1
    if name == "wait-close":
        await run(c, request("held", args[0], ONCE, 480, True), ready_on_first=True)
        raise await c.wait_closed()  # the server closes: TransportError(CLOSED)
    raise ValueError(f"unknown scenario {name}")


async def main(url, name, args):
    try:
        c = await AsyncClient.connect(url, api_key=os.environ.get("COLO_API_KEY"))
        emit({"event": "connected"})
        try:
            return await scenario(c, name, args)
        finally:
            await c.close()
    except ColoError as e:
        emit(error_json(e))
        return 1
    except TransportError as e:
        emit({"event": "transport_error", "kind": e.kind, "close_code": e.close_code, "reason": e.reason, "message": str(e)})
        return 2


if __name__ == "__main__":
    if len(sys.argv) < 3:
        print("usage: check.py URL SCENARIO [ARGS...]", file=sys.stderr)
        sys.exit(2)
    sys.exit(asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3:])))
