"""Typed requests, results and events: the same fields as the C++ client (colo/client.hpp)."""

from dataclasses import dataclass, field
from typing import List, Optional

from .errors import Direction, FinishReason, Role, RouteKind


@dataclass
class Sampling:
    max_tokens: Optional[int] = None  # server default 128
    temperature: Optional[float] = None  # [0, 2], default 0.8
    top_p: Optional[float] = None  # (0, 1], default 0.95
    seed: Optional[int] = None  # None: a random seed
    stop: List[str] = field(default_factory=list)


@dataclass
class Message:
    role: Role
    content: str


@dataclass
class Request:
    """An InferenceRequest. Give prompt or messages (a skill or classifier takes its text in prompt)."""

    id: str
    model: str = ""  # empty: the server's default model
    prompt: str = ""
    messages: List[Message] = field(default_factory=list)
    skill: str = ""
    sampling: Sampling = field(default_factory=Sampling)
    deadline_ms: int = 0  # 0: the server default
    priority: int = 0  # 0..255
    stream: bool = True
    choices: List[str] = field(default_factory=list)
    response_schema: str = ""
    tickers: List[str] = field(default_factory=list)


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    # Of prompt_tokens, those the server's KV cache held or copied (0 where not known).
    cached_tokens: int = 0


@dataclass
class Route:
    kind: RouteKind = RouteKind.Local
    provider: str = ""
    model: str = ""
    cached: bool = False


@dataclass
class Timings:
    """Server-side microseconds from receipt of the request."""

    queue_us: int = 0
    ttft_us: int = 0
    total_us: int = 0


@dataclass
class Signal:
    entity: str = ""
    ticker: str = ""
    direction: Direction = Direction.NEUTRAL
    score: float = 0.0  # [-1, 1]
    confidence: float = 0.0  # [0, 1]
    label: str = ""
    rationale: str = ""
    abstain: bool = False  # confidence below the threshold: do not act


@dataclass
class Decision:
    """One ticker's answer to a request with choices and tickers (fan-out)."""

    ticker: str = ""
    choice: str = ""  # the most probable choice for this ticker
    choice_probs: List[float] = field(default_factory=list)  # one per choice, request order


@dataclass
class Result:
    id: str
    text: str = ""
    finish_reason: FinishReason = FinishReason.Stop
    usage: Usage = field(default_factory=Usage)
    route: Route = field(default_factory=Route)
    timings: Timings = field(default_factory=Timings)
    skill: str = ""
    signals: List[Signal] = field(default_factory=list)
    choice: str = ""  # for a request with choices
    choice_probs: List[float] = field(default_factory=list)
    cost_micros: int = 0
    decisions: List[Decision] = field(default_factory=list)  # choices + tickers: one per ticker


@dataclass
class Accepted:
    id: str
    route: RouteKind


@dataclass
class Token:
    id: str
    index: int
    text: str


@dataclass
class Pong:
    nonce: int
    server_time_ns: int
    rtt_ns: int = 0  # set by ping()


def finish_reason_name(reason):
    """'stop', 'length', 'cancelled', 'deadline', 'error' (as the C++ client prints them)."""
    return FinishReason(reason).name.lower()
