"""Colo's Python client: the WebSocket protocol of /v1/ws (schemas/colo.fbs).

Only Debian's python3-websockets (10.4) and python3-flatbuffers (2.0.8); the wire code
(`colo.wire`, beside this package) is flatc's output. AsyncClient is the asyncio client;
Client the blocking wrapper. Errors: ColoError (a stable `code`) and TransportError (`kind`).
"""

from .aio import AsyncClient, Call
from .codec import decode_server_frame, encode_cancel, encode_ping, encode_request
from .errors import ColoError, Direction, ErrorCode, FinishReason, Role, RouteKind, TransportError, error_code
from .sync import Client
from .types import (
    Accepted,
    Decision,
    Message,
    Pong,
    Request,
    Result,
    Route,
    Sampling,
    Signal,
    Timings,
    Token,
    Usage,
    finish_reason_name,
)

__all__ = [
    "Accepted",
    "AsyncClient",
    "Call",
    "Client",
    "ColoError",
    "Decision",
    "Direction",
    "ErrorCode",
    "FinishReason",
    "Message",
    "Pong",
    "Request",
    "Result",
    "Role",
    "Route",
    "RouteKind",
    "Sampling",
    "Signal",
    "Timings",
    "Token",
    "TransportError",
    "Usage",
    "decode_server_frame",
    "encode_cancel",
    "encode_ping",
    "encode_request",
    "error_code",
    "finish_reason_name",
]
