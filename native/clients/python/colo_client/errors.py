"""Error types, the same as the C++ client's: ColoError (a stable wire code) and TransportError."""

import enum

from colo.wire.ErrorCode import ErrorCode as _WireErrorCode
from colo.wire.FinishReason import FinishReason as _WireFinish
from colo.wire.Role import Role as _WireRole
from colo.wire.RouteKind import RouteKind as _WireRoute


def _members(cls):
    return {k: v for k, v in vars(cls).items() if not k.startswith("_") and isinstance(v, int)}


# The wire enums as IntEnums, built from flatc's output so they cannot drift from the schema.
ErrorCode = enum.IntEnum("ErrorCode", _members(_WireErrorCode))
ErrorCode.__doc__ = "Stable error codes: the same names as src/core/errors.ts and schemas/colo.fbs."
FinishReason = enum.IntEnum("FinishReason", _members(_WireFinish))
RouteKind = enum.IntEnum("RouteKind", _members(_WireRoute))
Role = enum.IntEnum("Role", _members(_WireRole))


class Direction(enum.IntEnum):
    BEARISH = -1
    NEUTRAL = 0
    BULLISH = 1


def error_code(value):
    """The ErrorCode for a wire value or a name; INTERNAL for one a newer server added."""
    try:
        return ErrorCode[value] if isinstance(value, str) else ErrorCode(value)
    except (KeyError, ValueError):
        return ErrorCode.INTERNAL


class ColoError(Exception):
    """An Error frame, a refused upgrade (http_status set), or bad local input (INVALID_ARGUMENT).

    Branch on `code` (an ErrorCode), never on the message.
    """

    def __init__(self, code, message, *, id="", field="", retry_after_ms=0, usage=None, partial_text="", http_status=0):
        self.code = error_code(code)
        self.message = message
        self.id = id
        self.field = field
        self.retry_after_ms = retry_after_ms
        self.usage = usage
        self.partial_text = partial_text
        self.http_status = http_status
        detail = f" (field {field})" if field else ""
        super().__init__(f"{self.code.name}: {message}{detail}")


class TransportError(Exception):
    """The connection failed. kind: CONNECT_FAILED, HANDSHAKE_FAILED, CLOSED, PROTOCOL, TIMEOUT.

    For CLOSED, close_code is the server's close code (1006: dropped without a close frame).
    """

    KINDS = ("CONNECT_FAILED", "HANDSHAKE_FAILED", "CLOSED", "PROTOCOL", "TIMEOUT")

    def __init__(self, kind, message, *, close_code=0, reason=""):
        assert kind in self.KINDS, kind
        self.kind = kind
        self.close_code = close_code
        self.reason = reason
        super().__init__(f"{kind}: {message}")
