"""FlatBuffers encode/decode with flatc's Python output (colo.wire, from schemas/colo.fbs).

The Python FlatBuffers runtime has no verifier: a frame that does not carry the COLO
identifier is refused, the rest is trusted to the server (the C++ client verifies).
"""

import flatbuffers

from colo.wire import (
    Accepted as _Accepted,
    Cancel as _Cancel,
    ClientFrame as _ClientFrame,
    Error as _Error,
    InferenceRequest as _Req,
    Message as _Message,
    Ping as _Ping,
    Pong as _Pong,
    Result as _Result,
    Sampling as _Sampling,
    ServerFrame as _ServerFrame,
    TokenChunk as _TokenChunk,
)
from colo.wire.ClientBody import ClientBody
from colo.wire.ServerBody import ServerBody

from .errors import ColoError, Direction, ErrorCode, FinishReason, RouteKind, TransportError
from .types import Accepted, Decision, Pong, Result, Route, Signal, Timings, Token, Usage

FILE_IDENTIFIER = b"COLO"
U32 = 0xFFFFFFFF


def _invalid(field, message):
    raise ColoError(ErrorCode.INVALID_ARGUMENT, f"{field}: {message}", field=field)


def _uint(field, x, hi):
    if not isinstance(x, int) or isinstance(x, bool) or not 0 <= x <= hi:
        _invalid(field, f"must be an integer in 0..{hi}")
    return x


def _finish(b, body_type, body):
    _ClientFrame.Start(b)
    _ClientFrame.AddBodyType(b, body_type)
    _ClientFrame.AddBody(b, body)
    b.Finish(_ClientFrame.End(b), file_identifier=FILE_IDENTIFIER)
    return bytes(b.Output())


def _strings(b, start_vector, values):
    offs = [b.CreateString(s) for s in values]
    start_vector(b, len(offs))
    for o in reversed(offs):
        b.PrependUOffsetTRelative(o)
    return b.EndVector()


def encode_request(r, check=True):
    """InferenceRequest frame. Raises ColoError(INVALID_ARGUMENT) before anything is sent; with
    check=False only what cannot be encoded at all (integer ranges) is refused."""
    s = r.sampling
    if check:
        if not 1 <= len(r.id) <= 128:
            _invalid("id", "1 to 128 characters")
        if bool(r.prompt) == bool(r.messages):
            _invalid("prompt", "give exactly one of prompt and messages")
        if s.temperature is not None and not 0 <= s.temperature <= 2:
            _invalid("sampling.temperature", "must be in [0, 2]")
        if s.top_p is not None and not 0 < s.top_p <= 1:
            _invalid("sampling.top_p", "must be in (0, 1]")
    b = flatbuffers.Builder(256)
    rid = b.CreateString(r.id)
    model = b.CreateString(r.model) if r.model else None
    prompt = b.CreateString(r.prompt) if r.prompt else None
    skill = b.CreateString(r.skill) if r.skill else None
    schema = b.CreateString(r.response_schema) if r.response_schema else None
    choices = _strings(b, _Req.StartChoicesVector, r.choices) if r.choices else None
    tickers = _strings(b, _Req.StartTickersVector, r.tickers) if r.tickers else None
    messages = None
    if r.messages:
        offs = []
        for m in r.messages:
            content = b.CreateString(m.content)
            _Message.Start(b)
            _Message.AddRole(b, int(m.role))
            _Message.AddContent(b, content)
            offs.append(_Message.End(b))
        _Req.StartMessagesVector(b, len(offs))
        for o in reversed(offs):
            b.PrependUOffsetTRelative(o)
        messages = b.EndVector()
    stop = _strings(b, _Sampling.StartStopVector, s.stop) if s.stop else None
    _Sampling.Start(b)
    if s.max_tokens is not None:
        _Sampling.AddMaxTokens(b, _uint("sampling.max_tokens", s.max_tokens, U32))
    if s.temperature is not None:
        _Sampling.AddTemperature(b, s.temperature)
    if s.top_p is not None:
        _Sampling.AddTopP(b, s.top_p)
    if s.seed is not None:
        _Sampling.AddSeed(b, _uint("sampling.seed", s.seed, U32))
    if stop is not None:
        _Sampling.AddStop(b, stop)
    sampling = _Sampling.End(b)

    _Req.Start(b)
    _Req.AddId(b, rid)
    if model is not None:
        _Req.AddModel(b, model)
    if prompt is not None:
        _Req.AddPrompt(b, prompt)
    if messages is not None:
        _Req.AddMessages(b, messages)
    _Req.AddSampling(b, sampling)
    if r.deadline_ms:
        _Req.AddDeadlineMs(b, _uint("deadline_ms", r.deadline_ms, U32))
    if r.priority:
        _Req.AddPriority(b, _uint("priority", r.priority, 255))
    _Req.AddStream(b, bool(r.stream))
    if skill is not None:
        _Req.AddSkill(b, skill)
    if choices is not None:
        _Req.AddChoices(b, choices)
    if schema is not None:
        _Req.AddResponseSchema(b, schema)
    if tickers is not None:
        _Req.AddTickers(b, tickers)
    return _finish(b, ClientBody.InferenceRequest, _Req.End(b))


def encode_cancel(request_id):
    b = flatbuffers.Builder(64)
    s = b.CreateString(request_id)
    _Cancel.Start(b)
    _Cancel.AddId(b, s)
    return _finish(b, ClientBody.Cancel, _Cancel.End(b))


def encode_ping(nonce):
    b = flatbuffers.Builder(32)
    _Ping.Start(b)
    _Ping.AddNonce(b, nonce & 0xFFFFFFFFFFFFFFFF)
    return _finish(b, ClientBody.Ping, _Ping.End(b))


def _text(s):
    return s.decode("utf-8", errors="replace") if s is not None else ""


def _body(frame, cls):
    t = frame.Body()
    obj = cls()
    obj.Init(t.Bytes, t.Pos)
    return obj


def _enum(cls, value, default):
    try:
        return cls(value)
    except ValueError:
        return default


def decode_server_frame(buf):
    """One ServerFrame -> Accepted | Token | Result | ColoError (not raised) | Pong."""
    if len(buf) < 8 or not _ServerFrame.ServerFrame.ServerFrameBufferHasIdentifier(buf, 0):
        raise TransportError("PROTOCOL", "not a Colo frame (file identifier is not COLO)")
    frame = _ServerFrame.ServerFrame.GetRootAs(buf, 0)
    kind = frame.BodyType()
    if kind == ServerBody.TokenChunk:
        t = _body(frame, _TokenChunk.TokenChunk)
        return Token(_text(t.Id()), t.Index(), _text(t.Text()))
    if kind == ServerBody.Result:
        return _result(_body(frame, _Result.Result))
    if kind == ServerBody.Error:
        e = _body(frame, _Error.Error)
        u = e.Usage()
        return ColoError(
            e.Code(),
            _text(e.Message()),
            id=_text(e.Id()),
            field=_text(e.Field()),
            retry_after_ms=e.RetryAfterMs(),
            usage=Usage(u.PromptTokens(), u.CompletionTokens()) if u else None,
            partial_text=_text(e.PartialText()),
        )
    if kind == ServerBody.Pong:
        p = _body(frame, _Pong.Pong)
        return Pong(p.Nonce(), p.ServerTimeNs())
    if kind == ServerBody.Accepted:
        a = _body(frame, _Accepted.Accepted)
        return Accepted(_text(a.Id()), _enum(RouteKind, a.Route(), RouteKind.Local))
    raise TransportError("PROTOCOL", f"server frame with no body or an unknown body type {kind}")


def _result(r):
    u, ro, t = r.Usage(), r.Route(), r.Timings()
    signals = []
    for i in range(r.SignalsLength()):
        s = r.Signals(i)
        d = s.Direction()
        signals.append(
            Signal(
                entity=_text(s.Entity()),
                ticker=_text(s.Ticker()),
                direction=Direction((d > 0) - (d < 0)),
                score=s.Score(),
                confidence=s.Confidence(),
                label=_text(s.Label()),
                rationale=_text(s.Rationale()),
                abstain=bool(s.Abstain()),
            )
        )
    return Result(
        id=_text(r.Id()),
        text=_text(r.Text()),
        finish_reason=_enum(FinishReason, r.FinishReason(), FinishReason.Error),
        usage=Usage(u.PromptTokens(), u.CompletionTokens(), u.CachedTokens()) if u else Usage(),
        route=Route(_enum(RouteKind, ro.Kind(), RouteKind.Local), _text(ro.Provider()), _text(ro.Model()), bool(ro.Cached()))
        if ro
        else Route(),
        timings=Timings(t.QueueUs(), t.TtftUs(), t.TotalUs()) if t else Timings(),
        skill=_text(r.Skill()),
        signals=signals,
        choice=_text(r.Choice()),
        choice_probs=[r.ChoiceProbs(i) for i in range(r.ChoiceProbsLength())],
        cost_micros=r.CostMicros(),
        decisions=[_decision(r.Decisions(i)) for i in range(r.DecisionsLength())],
    )


def _decision(d):
    return Decision(
        ticker=_text(d.Ticker()),
        choice=_text(d.Choice()),
        choice_probs=[d.ChoiceProbs(i) for i in range(d.ChoiceProbsLength())],
    )
