"""python3 -m colo_client [options] PROMPT: one request, every frame as a JSON line.

A wire-debugging tool on the package (it replaced the old test/clients/python script):
sends one InferenceRequest to --url and prints one JSON object per line on stdout:
{"type": "pong"|"accepted"|"token"|"result"|"error"|"timeout", ...}. It sends what it is
given without local checks, so the server's own validation answers.
Exit status: 0 on a Result, 1 on an Error frame, 2 on a connection or protocol failure.
"""

import argparse
import asyncio
import json
import os
import sys

from .aio import AsyncClient
from .errors import ColoError, TransportError
from .types import Accepted, Request, Sampling, Token, finish_reason_name


def emit(obj):
    print(json.dumps(obj, ensure_ascii=False), flush=True)


def result_dict(r):
    out = {
        "type": "result",
        "id": r.id,
        "text": r.text,
        "finish_reason": finish_reason_name(r.finish_reason),
        "usage": {"prompt_tokens": r.usage.prompt_tokens, "completion_tokens": r.usage.completion_tokens},
        "route": {
            "kind": r.route.kind.name.lower(),
            "provider": r.route.provider,
            "model": r.route.model,
            "cached": r.route.cached,
        },
        "timings": {"queue_us": r.timings.queue_us, "ttft_us": r.timings.ttft_us, "total_us": r.timings.total_us},
    }
    if r.skill:
        out["skill"] = r.skill
    if r.signals:
        out["signals"] = [
            {
                "entity": s.entity,
                "ticker": s.ticker,
                "direction": int(s.direction),
                "score": s.score,
                "confidence": s.confidence,
                "label": s.label,
                "rationale": s.rationale,
                "abstain": s.abstain,
            }
            for s in r.signals
        ]
    if r.choice:
        out["choice"] = r.choice
        out["choice_probs"] = r.choice_probs
    if r.cost_micros:
        out["cost_micros"] = r.cost_micros
    return out


def error_dict(e):
    out = {"type": "error", "id": e.id, "code": e.code.name, "message": e.message}
    if e.field:
        out["field"] = e.field
    if e.retry_after_ms:
        out["retry_after_ms"] = e.retry_after_ms
    if e.partial_text:
        out["partial_text"] = e.partial_text
    return out


async def run(args):
    api_key = args.api_key or os.environ.get("COLO_API_KEY")
    c = await AsyncClient.connect(args.url, api_key, max_frame_bytes=args.max_frame_bytes)
    try:
        if args.ping:
            p = await c.ping(args.timeout)
            emit({"type": "pong", "nonce": p.nonce, "server_time_ns": p.server_time_ns, "rtt_us": p.rtt_ns // 1000})
        sampling = Sampling(
            max_tokens=args.max_tokens, temperature=args.temperature, top_p=args.top_p, seed=args.seed, stop=args.stop
        )
        req = Request(
            id=args.id,
            model=args.model,
            prompt=args.prompt,
            skill=args.skill,
            sampling=sampling,
            deadline_ms=args.deadline_ms,
            priority=args.priority,
            stream=not args.no_stream,
        )
        call = await c.send(req, check=False)
        try:
            while True:
                ev = await asyncio.wait_for(call.next_event(), args.timeout)
                if isinstance(ev, Accepted):
                    emit({"type": "accepted", "id": ev.id, "route": ev.route.name.lower()})
                elif isinstance(ev, Token):
                    emit({"type": "token", "id": ev.id, "index": ev.index, "text": ev.text})
        except StopAsyncIteration:
            emit(result_dict(call._final))
            return 0
        except ColoError as e:
            emit(error_dict(e))
            return 1
        except asyncio.TimeoutError:
            await c.cancel(args.id)
            emit({"type": "timeout", "id": args.id, "after_s": args.timeout})
            return 2
    finally:
        await c.close()


def main():
    p = argparse.ArgumentParser(prog="python3 -m colo_client", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("prompt", help="prompt text (the input text when --skill is given)")
    p.add_argument("--url", default="ws://127.0.0.1:8080/v1/ws")
    p.add_argument("--id", default="py-1", help="request id (default py-1)")
    p.add_argument("--model", default="", help="model name; empty means the server default")
    p.add_argument("--skill", default="", help="skill name (sentiment, events, ...)")
    p.add_argument("--max-tokens", type=int, default=None)
    p.add_argument("--temperature", type=float, default=None)
    p.add_argument("--top-p", type=float, default=None)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--stop", action="append", default=[], help="stop sequence (repeatable)")
    p.add_argument("--deadline-ms", type=int, default=0)
    p.add_argument("--priority", type=int, default=0)
    p.add_argument("--no-stream", action="store_true", help="ask for the Result only, no TokenChunk frames")
    p.add_argument("--ping", action="store_true", help="send a Ping first and print the round trip")
    p.add_argument("--api-key", default=None, help="bearer key (or env COLO_API_KEY); never printed")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for each frame")
    p.add_argument("--max-frame-bytes", type=int, default=64 << 20)
    args = p.parse_args()
    try:
        return asyncio.run(run(args))
    except ColoError as e:  # a refused upgrade, or a value that cannot be encoded
        emit(error_dict(e))
        return 1
    except TransportError as e:
        print(json.dumps({"type": "client_error", "kind": e.kind, "message": str(e)}), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
