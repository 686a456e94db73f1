#!/usr/bin/env python3
"""Independent Colo WebSocket client, built only on flatc's Python output.

It shares no code with the TypeScript implementation, so it checks that the wire
protocol (schemas/colo.fbs) is what the server actually speaks.

Sends one InferenceRequest to ws://HOST:PORT/v1/ws and prints one JSON object per
line on stdout: {"type": "accepted"|"token"|"result"|"error"|"pong", ...}.
Exit status: 0 on a Result, 1 on an Error frame, 2 on a connection or protocol failure.
"""

import argparse
import asyncio
import json
import os
import sys
import time

sys.dont_write_bytecode = True  # keep generated/ free of __pycache__ (CI diffs that folder)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "generated"))

import flatbuffers  # noqa: E402  (Debian: python3-flatbuffers)
import websockets  # noqa: E402  (Debian: python3-websockets)

from colo.wire import (  # noqa: E402
    Accepted,
    Cancel,
    ClientFrame,
    Error,
    InferenceRequest,
    Ping,
    Pong,
    Result,
    Sampling,
    ServerFrame,
    TokenChunk,
)
from colo.wire.ClientBody import ClientBody  # noqa: E402
from colo.wire.ErrorCode import ErrorCode  # noqa: E402
from colo.wire.FinishReason import FinishReason  # noqa: E402
from colo.wire.RouteKind import RouteKind  # noqa: E402
from colo.wire.ServerBody import ServerBody  # noqa: E402

FILE_IDENTIFIER = b"COLO"


def enum_names(cls):
    return {v: k for k, v in vars(cls).items() if not k.startswith("_") and isinstance(v, int)}


ERROR_CODES = enum_names(ErrorCode)
FINISH_REASONS = {v: k.lower() for v, k in enum_names(FinishReason).items()}
ROUTE_KINDS = {v: k.lower() for v, k in enum_names(RouteKind).items()}


def finish_client_frame(b, body_type, body):
    ClientFrame.Start(b)
    ClientFrame.AddBodyType(b, body_type)
    ClientFrame.AddBody(b, body)
    b.Finish(ClientFrame.End(b), file_identifier=FILE_IDENTIFIER)
    return bytes(b.Output())


def encode_request(args):
    b = flatbuffers.Builder(256)
    req_id = b.CreateString(args.id)
    model = b.CreateString(args.model) if args.model else None
    prompt = b.CreateString(args.prompt)
    skill = b.CreateString(args.skill) if args.skill else None
    stops = [b.CreateString(s) for s in args.stop]
    stop_vec = None
    if stops:
        Sampling.StartStopVector(b, len(stops))
        for s in reversed(stops):
            b.PrependUOffsetTRelative(s)
        stop_vec = b.EndVector()
    Sampling.Start(b)
    if args.max_tokens is not None:
        Sampling.AddMaxTokens(b, args.max_tokens)
    if args.temperature is not None:
        Sampling.AddTemperature(b, args.temperature)
    if args.top_p is not None:
        Sampling.AddTopP(b, args.top_p)
    if args.seed is not None:
        Sampling.AddSeed(b, args.seed)
    if stop_vec is not None:
        Sampling.AddStop(b, stop_vec)
    sampling = Sampling.End(b)

    InferenceRequest.Start(b)
    InferenceRequest.AddId(b, req_id)
    if model is not None:
        InferenceRequest.AddModel(b, model)
    InferenceRequest.AddPrompt(b, prompt)
    InferenceRequest.AddSampling(b, sampling)
    if args.deadline_ms:
        InferenceRequest.AddDeadlineMs(b, args.deadline_ms)
    if args.priority:
        InferenceRequest.AddPriority(b, args.priority)
    InferenceRequest.AddStream(b, not args.no_stream)
    if skill is not None:
        InferenceRequest.AddSkill(b, skill)
    return finish_client_frame(b, ClientBody.InferenceRequest, InferenceRequest.End(b))


def encode_ping(nonce):
    b = flatbuffers.Builder(64)
    Ping.Start(b)
    Ping.AddNonce(b, nonce)
    return finish_client_frame(b, ClientBody.Ping, Ping.End(b))


def encode_cancel(req_id):
    b = flatbuffers.Builder(64)
    s = b.CreateString(req_id)
    Cancel.Start(b)
    Cancel.AddId(b, s)
    return finish_client_frame(b, ClientBody.Cancel, Cancel.End(b))


def text(s):
    return s.decode("utf-8", errors="replace") if s is not None else ""


def union_table(frame, cls):
    t = frame.Body()
    obj = cls()
    obj.Init(t.Bytes, t.Pos)
    return obj


def decode_server_frame(buf):
    """ServerFrame -> dict. The Python runtime has no verifier: this client trusts the server."""
    if len(buf) < 8 or not ServerFrame.ServerFrame.ServerFrameBufferHasIdentifier(buf, 0):
        raise ValueError("not a Colo frame (file identifier is not COLO)")
    frame = ServerFrame.ServerFrame.GetRootAs(buf, 0)
    kind = frame.BodyType()
    if kind == ServerBody.Accepted:
        a = union_table(frame, Accepted.Accepted)
        return {"type": "accepted", "id": text(a.Id()), "route": ROUTE_KINDS.get(a.Route(), a.Route())}
    if kind == ServerBody.TokenChunk:
        t = union_table(frame, TokenChunk.TokenChunk)
        return {"type": "token", "id": text(t.Id()), "index": t.Index(), "text": text(t.Text())}
    if kind == ServerBody.Result:
        r = union_table(frame, Result.Result)
        usage, route, timings = r.Usage(), r.Route(), r.Timings()
        out = {
            "type": "result",
            "id": text(r.Id()),
            "text": text(r.Text()),
            "finish_reason": FINISH_REASONS.get(r.FinishReason(), r.FinishReason()),
            "usage": {
                "prompt_tokens": usage.PromptTokens() if usage else 0,
                "completion_tokens": usage.CompletionTokens() if usage else 0,
            },
            "route": {
                "kind": ROUTE_KINDS.get(route.Kind(), route.Kind()) if route else None,
                "provider": text(route.Provider()) if route else "",
                "model": text(route.Model()) if route else "",
                "cached": bool(route.Cached()) if route else False,
            },
            "timings": {
                "queue_us": timings.QueueUs() if timings else 0,
                "ttft_us": timings.TtftUs() if timings else 0,
                "total_us": timings.TotalUs() if timings else 0,
            },
        }
        if r.Skill() is not None:
            out["skill"] = text(r.Skill())
        if r.SignalsLength() > 0:
            out["signals"] = [signal_dict(r.Signals(i)) for i in range(r.SignalsLength())]
        return out
    if kind == ServerBody.Error:
        e = union_table(frame, Error.Error)
        out = {
            "type": "error",
            "id": text(e.Id()),
            "code": ERROR_CODES.get(e.Code(), "INTERNAL"),
            "message": text(e.Message()),
        }
        if e.Field():
            out["field"] = text(e.Field())
        if e.RetryAfterMs():
            out["retry_after_ms"] = e.RetryAfterMs()
        return out
    if kind == ServerBody.Pong:
        p = union_table(frame, Pong.Pong)
        return {"type": "pong", "nonce": p.Nonce(), "server_time_ns": p.ServerTimeNs()}
    raise ValueError(f"unknown ServerFrame body type {kind}")


def signal_dict(s):
    return {
        "entity": text(s.Entity()),
        "ticker": text(s.Ticker()),
        "direction": s.Direction(),
        "score": s.Score(),
        "confidence": s.Confidence(),
        "label": text(s.Label()),
        "rationale": text(s.Rationale()),
        "abstain": bool(s.Abstain()),
    }


def emit(obj):
    print(json.dumps(obj, ensure_ascii=False), flush=True)


async def run(args):
    headers = {}
    api_key = args.api_key or os.environ.get("COLO_API_KEY")
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"  # never printed
    async with websockets.connect(args.url, extra_headers=headers, max_size=args.max_frame_bytes) as ws:
        if args.ping:
            nonce = time.monotonic_ns() & 0xFFFFFFFFFFFFFFFF
            sent = time.monotonic_ns()
            await ws.send(encode_ping(nonce))
            while True:
                msg = decode_server_frame(await asyncio.wait_for(ws.recv(), args.timeout))
                if msg["type"] == "pong" and msg["nonce"] == nonce:
                    msg["rtt_us"] = (time.monotonic_ns() - sent) // 1000
                    emit(msg)
                    break
        await ws.send(encode_request(args))
        try:
            while True:
                raw = await asyncio.wait_for(ws.recv(), args.timeout)
                if isinstance(raw, str):
                    raise ValueError("server sent a text frame; the protocol uses binary frames")
                msg = decode_server_frame(raw)
                if msg.get("id") not in (args.id, ""):
                    continue  # another request's frame
                emit(msg)
                if msg["type"] == "result":
                    return 0
                if msg["type"] == "error":
                    return 1
        except asyncio.TimeoutError:
            await ws.send(encode_cancel(args.id))
            emit({"type": "timeout", "id": args.id, "after_s": args.timeout})
            return 2


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
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
    p.add_argument("--api-key", default=None, help="bearer key (or env COLO_API_KEY)")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for each frame")
    p.add_argument("--max-frame-bytes", type=int, default=64 << 20)
    args = p.parse_args()
    try:
        return asyncio.run(run(args))
    except (OSError, websockets.exceptions.WebSocketException, ValueError) as e:
        print(json.dumps({"type": "client_error", "message": f"{type(e).__name__}: {e}"}), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
