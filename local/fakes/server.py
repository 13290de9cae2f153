"""Shared machinery of the fake provider servers.

Each fake is a `ThreadingHTTPServer` on 127.0.0.1, served from a background thread. All of its state
lives in the process that started it, behind one lock, so any number of other processes can use the
same fake at once over HTTP. Tests steer a fake either through its Python methods or, from another
process, through the `/__control/*` endpoints (no auth):

    GET    /__control/state    the whole state as JSON
    GET    /__control/calls    {operation: requests received}
    GET    /__control/faults   {operation: [pending faults, first applied first]}
    POST   /__control/faults   add one fault:
                               {operation, status, code, message, delay_ms, drop, hold_ms, times, body}
    DELETE /__control/faults   remove every fault
    POST   /__control/reset    clear state, faults and counters

A fault applies to the next matching requests of one operation, oldest fault first:
    status    answer with this status and the provider's error body, without acting
    delay_ms  sleep before handling (combines with the others); sleeping never holds the lock
    drop      act fully, then hold the connection for hold_ms and close it without a response
    body      replace the answer's body: alone, act fully, then answer the success status with it (a
              lost or garbled answer to a request the provider carried out); with `status` (2xx to
              5xx), answer that status with it without acting. What a proxy or a provider bug returns
              (HTML, JSON missing the id): deliberately not valid against the spec, unlike every
              other answer
    times     how many requests it applies to before it expires; None = until cleared

A rate limit (`limit_rate(per_second, burst)`, a token bucket over every operation, as a provider
limits an account) answers 429 in the provider's error shape, without acting, to each request above
it; `rate_limited()` counts them. `reset()` lifts it.
"""

from __future__ import annotations

import copy
import io
import itertools
import json
import re
import secrets
import sys
import threading
import time
import traceback
import wave
from abc import abstractmethod
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

from local.background import BackgroundServer

JsonObject = dict[str, Any]

LOOPBACK = "127.0.0.1"
CONTROL_PREFIX = "/__control/"


def now_ms() -> int:
    return time.time_ns() // 1_000_000


WAV_RATE = 8000  # telephone audio: 8 kHz, 16-bit, mono


def silent_wav(seconds: float) -> bytes:
    """A valid WAV of `seconds` of silence (a recording the length its call or message claims)."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(WAV_RATE)
        audio.writeframes(b"\x00\x00" * round(WAV_RATE * seconds))
    return buffer.getvalue()


class ProviderError(Exception):
    """Raised by a route handler to answer with the provider's own error body."""

    def __init__(self, status: int, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]  # names lower-cased
    body: bytes
    path_params: Mapping[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def query_value(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def json_object(self, *, required: bool = True) -> JsonObject:
        """The body as a JSON object; an empty body counts as {} when the body is optional."""
        if not self.body.strip():
            if required:
                raise ProviderError(400, "Request body is required.")
            return {}
        try:
            payload = json.loads(self.body)
        except ValueError as error:
            raise ProviderError(400, f"Request body is not valid JSON: {error}.") from error
        if not isinstance(payload, dict):
            raise ProviderError(400, "Request body must be a JSON object.")
        return payload

    def form(self) -> dict[str, str]:
        """The body as an application/x-www-form-urlencoded form (first value of each field)."""
        fields = parse_qs(self.body.decode("utf-8"), keep_blank_values=True)
        return {name: values[0] for name, values in fields.items()}


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json"


def json_response(status: int, payload: Any) -> Response:
    return Response(status, json.dumps(payload).encode("utf-8"))


def no_content() -> Response:
    return Response(204)


Handler = Callable[[Request], Response]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    operation: str
    handler: Handler


def route(method: str, path_pattern: str, operation: str, handler: Handler) -> Route:
    """A route whose path must match `path_pattern` entirely; named groups become path params."""
    return Route(method, re.compile(path_pattern), operation, handler)


class Router:
    def __init__(self, routes: Iterable[Route]) -> None:
        self._routes = tuple(routes)

    @property
    def operations(self) -> frozenset[str]:
        return frozenset(each.operation for each in self._routes)

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for candidate in self._routes:
            if candidate.method != method:
                continue
            found = candidate.pattern.fullmatch(path)
            if found is not None:
                return candidate, found.groupdict()
        return None


class IdFactory:
    """Ids made of a prefix, a creation counter and random hex.

    Unique across resets, and they sort in creation order, which gives list endpoints pagination keys
    that stay valid even after the item they name has been deleted.
    """

    _COUNTER_DIGITS = 10

    def __init__(self, prefix: str, hex_length: int) -> None:
        if hex_length <= self._COUNTER_DIGITS:
            raise ValueError(f"hex_length must exceed {self._COUNTER_DIGITS}")
        self._prefix = prefix
        self._random_digits = hex_length - self._COUNTER_DIGITS
        # A random start in [1, 8) * 16**9 keeps ids of different fakes apart, with room left to count up.
        lowest = 16 ** (self._COUNTER_DIGITS - 1)
        self._counter = itertools.count(lowest + secrets.randbelow(7 * lowest))

    def new(self) -> str:
        sequence = next(self._counter)
        random_part = secrets.token_hex((self._random_digits + 1) // 2)[: self._random_digits]
        return f"{self._prefix}{sequence:0{self._COUNTER_DIGITS}x}{random_part}"


_FAULT_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "operation": (str,),
    "status": (int,),
    "code": (int,),
    "message": (str,),
    "delay_ms": (int, float),
    "drop": (bool,),
    "hold_ms": (int, float),
    "times": (int,),
    "body": (str,),
}


@dataclass
class Fault:
    """What to do to the next requests of one operation (see the module docstring)."""

    operation: str
    status: int | None = None
    code: int | None = None
    message: str | None = None
    delay_ms: float = 0
    drop: bool = False
    hold_ms: float = 3000
    times: int | None = None
    body: str | None = None

    def check(self, operations: frozenset[str]) -> None:
        if self.operation not in operations:
            raise ValueError(f"unknown operation {self.operation!r}; known: {sorted(operations)}")
        if self.body is not None:
            if self.status is not None and not 200 <= self.status <= 599:
                raise ValueError(f"a raw body's status must be 2xx to 5xx, got {self.status}")
        elif self.status is not None and not 400 <= self.status <= 599:
            raise ValueError(f"status must be a 4xx or 5xx error, got {self.status}")
        if (self.status is not None or self.body is not None) and self.drop:
            raise ValueError("a fault either answers (nothing acted) or drops the response (acted)")
        if self.status is None and self.body is None and not self.drop and self.delay_ms <= 0:
            raise ValueError(
                "the fault does nothing: give a status, a body, drop=True or a positive delay_ms"
            )
        if self.delay_ms < 0 or self.hold_ms < 0:
            raise ValueError("delay_ms and hold_ms cannot be negative")
        if self.times is not None and self.times < 1:
            raise ValueError("times must be at least 1, or None for 'until cleared'")

    @classmethod
    def from_json(cls, payload: object) -> Fault:
        if not isinstance(payload, dict):
            raise ValueError("a fault must be a JSON object")
        unknown = set(payload) - set(_FAULT_FIELD_TYPES)
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        for name, value in payload.items():
            expected = _FAULT_FIELD_TYPES[name]
            # bool is an int in Python, but `"status": true` is a mistake, not a status.
            wrong_bool = isinstance(value, bool) and bool not in expected
            if value is not None and (wrong_bool or not isinstance(value, expected)):
                names = " or ".join(each.__name__ for each in expected)
                raise ValueError(f"fault field {name!r} must be {names} or null")
        if not payload.get("operation"):
            raise ValueError("a fault needs an operation")
        # null means "the default", as if the field were left out.
        return cls(**{name: value for name, value in payload.items() if value is not None})

    def to_json(self) -> JsonObject:
        return asdict(self)


class FaultQueue:
    """Pending faults per operation, applied oldest first.

    Not thread-safe on its own: the owning fake holds its lock around every call.
    """

    def __init__(self) -> None:
        self._queues: dict[str, deque[Fault]] = {}

    def add(self, fault: Fault) -> None:
        self._queues.setdefault(fault.operation, deque()).append(fault)

    def take(self, operation: str) -> Fault | None:
        """The fault for the next request of `operation`, using up one of its `times`."""
        queue = self._queues.get(operation)
        if not queue:
            return None
        head = queue[0]
        applied = replace(head)
        if head.times is not None:
            head.times -= 1
            if head.times == 0:
                queue.popleft()
        return applied

    def clear(self) -> None:
        self._queues.clear()

    def snapshot(self) -> dict[str, list[JsonObject]]:
        return {name: [each.to_json() for each in queue] for name, queue in self._queues.items() if queue}


class FakeServer(BackgroundServer):
    """A fake provider: HTTP plumbing, routing, per-operation counters and faults, the control surface.

    Subclasses declare their routes and answer in the provider's own error shape; their handlers run
    under the fake's lock, so they may read and change the state freely.
    """

    poll_interval = 0.05  # stop() waits up to one poll interval

    def __init__(self, *, host: str = LOOPBACK, port: int = 0) -> None:
        super().__init__()
        self._host = host
        self._port = port
        self._lock = threading.RLock()
        self._calls: Counter[str] = Counter()
        self._faults = FaultQueue()
        self._router = Router(self._routes())
        self._control_router = Router(self._common_control_routes() + self._control_routes())
        self._bucket: _TokenBucket | None = None
        self._rate_limited = 0

    # -- lifecycle ---------------------------------------------------------------------------------

    def _make_server(self) -> _FakeHttpServer:
        return _FakeHttpServer((self._host, self._port), self)

    @property
    def base_url(self) -> str:
        return f"http://{self._host}:{self.bound_port}"

    # -- test-facing API -----------------------------------------------------------------------------

    @property
    def operations(self) -> frozenset[str]:
        return self._router.operations

    def call_count(self, operation: str) -> int:
        """Requests received for `operation`, whatever they were answered (faults and 401s included)."""
        self._require_operation(operation)
        with self._lock:
            return self._calls[operation]

    def call_counts(self) -> dict[str, int]:
        with self._lock:
            return {operation: self._calls[operation] for operation in sorted(self.operations)}

    def inject(
        self,
        operation: str,
        status: int | None = None,
        *,
        code: int | None = None,
        message: str | None = None,
        delay_ms: float = 0,
        drop: bool = False,
        hold_ms: float = 3000,
        times: int | None = None,
        body: str | None = None,
    ) -> Fault:
        """Queue a fault for `operation` (see the module docstring); returns what was queued."""
        fault = Fault(operation, status, code, message, delay_ms, drop, hold_ms, times, body)
        self._add_fault(fault)
        return replace(fault)

    def limit_rate(self, per_second: float, burst: int) -> None:
        """From now on, answer 429 to the requests above `per_second` (after a burst of `burst`)."""
        if per_second <= 0 or burst < 1:
            raise ValueError("per_second must be positive and burst at least 1")
        with self._lock:
            self._bucket = _TokenBucket(per_second, burst)

    def rate_limited(self) -> int:
        """Requests answered 429 by the rate limit since the last reset."""
        with self._lock:
            return self._rate_limited

    def faults(self) -> dict[str, list[JsonObject]]:
        with self._lock:
            return self._faults.snapshot()

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def reset(self) -> None:
        """Back to a fresh fake: no state, no faults, no counts, default configuration."""
        with self._lock:
            self._clear_state()
            self._faults.clear()
            self._calls.clear()
            self._bucket = None
            self._rate_limited = 0

    def state(self) -> JsonObject:
        """A deep copy of the whole state, as `GET /__control/state` serves it."""
        with self._lock:
            return copy.deepcopy(self._state_snapshot())

    # -- what each provider supplies -----------------------------------------------------------------

    @abstractmethod
    def _routes(self) -> list[Route]: ...

    @abstractmethod
    def _check_access(self, request: Request) -> Response | None:
        """None when the request may proceed; else the provider's refusal (401, 404, ...)."""

    @abstractmethod
    def _error(self, status: int, message: str | None, code: int | None, request: Request) -> Response:
        """The provider's error response; `message`/`code` None means the provider's default."""

    @abstractmethod
    def _state_snapshot(self) -> JsonObject:
        """The state as JSON-ready data; called under the lock."""

    @abstractmethod
    def _clear_state(self) -> None:
        """Forget every resource and configuration; called under the lock."""

    def _control_routes(self) -> list[Route]:
        """Provider-specific `/__control/*` endpoints."""
        return []

    # -- request handling ------------------------------------------------------------------------------

    def handle(self, request: Request) -> Response | None:
        """Answer one request; None means close the connection without answering (a dropped response)."""
        if request.path.startswith(CONTROL_PREFIX):
            return self._handle_control(request)
        matched = self._router.match(request.method, request.path)
        if matched is None:
            return self._error(404, None, None, request)
        operation_route, path_params = matched
        request = replace(request, path_params=path_params)
        with self._lock:
            self._calls[operation_route.operation] += 1
        refusal = self._check_access(request)
        if refusal is not None:
            return refusal
        with self._lock:
            limited = self._bucket is not None and not self._bucket.take()
            self._rate_limited += limited
            fault = None if limited else self._faults.take(operation_route.operation)
        if limited:
            return self._error(429, None, None, request)
        if fault is None:
            return self._run(operation_route, request)
        if fault.delay_ms > 0:
            # Outside the lock: a delayed request must not hold up any other.
            time.sleep(fault.delay_ms / 1000)
        if fault.body is not None and fault.status is not None:
            return _raw_response(fault.status, fault.body)
        if fault.status is not None:
            return self._error(fault.status, fault.message, fault.code, request)
        response = self._run(operation_route, request)
        if fault.drop:
            time.sleep(fault.hold_ms / 1000)
            return None
        if fault.body is not None:
            return _raw_response(response.status, fault.body)
        return response

    def _run(self, operation_route: Route, request: Request) -> Response:
        try:
            with self._lock:
                return operation_route.handler(request)
        except ProviderError as error:
            return self._error(error.status, error.message, error.code, request)
        except Exception:
            traceback.print_exc()  # a bug in the fake: make it loud, and answer like a provider outage
            return self._error(500, None, None, request)

    def _require_operation(self, operation: str) -> None:
        if operation not in self.operations:
            raise ValueError(f"unknown operation {operation!r}; known: {sorted(self.operations)}")

    def _add_fault(self, fault: Fault) -> None:
        fault.check(self.operations)
        with self._lock:
            self._faults.add(fault)

    # -- control surface ---------------------------------------------------------------------------------

    def _handle_control(self, request: Request) -> Response:
        matched = self._control_router.match(request.method, request.path)
        if matched is None:
            return json_response(404, {"error": f"no control endpoint {request.method} {request.path}"})
        control_route, path_params = matched
        try:
            return control_route.handler(replace(request, path_params=path_params))
        except (ValueError, ProviderError) as error:
            return json_response(400, {"error": str(error)})

    def _common_control_routes(self) -> list[Route]:
        return [
            route("GET", r"/__control/state", "control_state", lambda _: json_response(200, self.state())),
            route(
                "GET", r"/__control/calls", "control_calls", lambda _: json_response(200, self.call_counts())
            ),
            route("GET", r"/__control/faults", "control_faults", lambda _: json_response(200, self.faults())),
            route("POST", r"/__control/faults", "control_add_fault", self._control_add_fault),
            route("DELETE", r"/__control/faults", "control_clear_faults", self._control_clear_faults),
            route("POST", r"/__control/reset", "control_reset", self._control_reset),
        ]

    def _control_add_fault(self, request: Request) -> Response:
        fault = Fault.from_json(request.json_object())
        self._add_fault(fault)
        return json_response(201, fault.to_json())

    def _control_clear_faults(self, _: Request) -> Response:
        self.clear_faults()
        return no_content()

    def _control_reset(self, _: Request) -> Response:
        self.reset()
        return no_content()


class _TokenBucket:
    def __init__(self, per_second: float, burst: int) -> None:
        self._per_second = per_second
        self._burst = burst
        self._tokens = float(burst)
        self._at = time.monotonic()

    def take(self) -> bool:
        moment = time.monotonic()
        self._tokens = min(self._burst, self._tokens + (moment - self._at) * self._per_second)
        self._at = moment
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True


def _raw_response(status: int, body: str) -> Response:
    try:
        json.loads(body)
    except ValueError:
        return Response(status, body.encode("utf-8"), "text/html")  # a proxy's or load balancer's page
    return Response(status, body.encode("utf-8"))


class _FakeHttpServer(ThreadingHTTPServer):
    daemon_threads = True  # a connection held open by a drop fault must not block shutdown
    block_on_close = False
    request_queue_size = 256  # race tests open many connections from many processes at once
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], fake: FakeServer) -> None:
        super().__init__(address, _FakeRequestHandler)
        self.fake = fake

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (its timeout) before the answer was written is what slow-provider
        # tests do on purpose: not worth a traceback. Anything else is still printed.
        if isinstance(sys.exc_info()[1], BrokenPipeError | ConnectionResetError):
            return
        super().handle_error(request, client_address)


class _FakeRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive like the real APIs; every response states its length
    # Headers and body go out in two writes; with Nagle on, the body waits for the client's delayed
    # ACK (~40 ms on Linux), which would swamp the millisecond accuracy latency faults promise.
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def do_PATCH(self) -> None:
        self._answer()

    def do_PUT(self) -> None:
        self._answer()

    def do_DELETE(self) -> None:
        self._answer()

    def _answer(self) -> None:
        fake = cast(_FakeHttpServer, self.server).fake
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        url = urlsplit(self.path)
        request = Request(
            method=self.command,
            path=url.path,
            query=parse_qs(url.query, keep_blank_values=True),
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
        )
        response = fake.handle(request)
        if response is None:
            self.close_connection = True  # the "lost" response: close without writing a byte
            return
        self.send_response(response.status)
        if response.body:
            self.send_header("Content-Type", response.content_type)
        if response.status not in (204, 304):
            self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if response.body:
            self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: tests read the counters, not an access log."""
