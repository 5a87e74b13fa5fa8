"""Fuzzing (hypothesis, derandomized): every HTTP endpoint of the kiosk page and of the staff
dashboard, both WebSockets, and every topic the kiosk's nodes subscribe to.

Bad input classes: random bytes, malformed JSON, JSON of the wrong type, the right fields with the
wrong types, oversized bodies / frames / strings, a wrong ``schema_version``. Wanted everywhere: no
5xx and no crash, a clear error, the server or node still answers, and every refusal counted
(``/healthz`` ``rejections``; diagnostics ``rejected_messages``). Findings: notes/fuzz-report.md.
Endpoints and topics are enumerated (OpenAPI of the apps, the ROS graph): a new one is fuzzed too.
"""

from __future__ import annotations

import json
import re
import socket
import time
import typing
from collections.abc import Callable, Iterator
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.routing import Mount
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

import kiosk_protocol
from kiosk_protocol import DEFAULT_MAX_PAYLOAD_CHARS, MAX_PAYLOAD_CHARS, Escalation, ProtocolError, Reply, UserInput
from kiosk_ui import EventHub, create_app
from kiosk_ui.limits import DEFAULT_MAX_BODY_BYTES
from tests.conftest import Kiosk
from tests.test_dashboard_api import login
from tests.test_dashboard_api import server as dashboard  # noqa: F401 - the staff dashboard, a pytest fixture
from tests.test_kiosk_catalog import Server as PageServer
from tests.test_kiosk_catalog import catalog  # noqa: F401 - a pytest fixture

FUZZ = settings(derandomize=True, database=None, deadline=None, max_examples=20, print_blob=False,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
FUZZ_HTTP = settings(FUZZ, max_examples=30)  # per endpoint
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=60)  # any Unicode a client can encode
# JSON escapes of lone surrogates ("\ud800") are valid JSON but no valid Unicode; the last one is a real pair
SURROGATES = st.sampled_from(["\ud800", "x\udfff", "\udc00\ud800", "\ud83d\ude00"])
SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | TEXT | SURROGATES
JSON_VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(TEXT, inner, max_size=4), max_leaves=10)
EXTREMES = st.sampled_from(["-1", "0", "-99999999999999999999999", "99999999999999999999999", "1e309", "NaN",
                           "", "\x00", "' OR 1=1 --", "../../etc/passwd"])
BAD_VERSIONS = st.sampled_from([0, 2, -1, 10**20, "1", 1.5, None, True, [1], {"v": 1}])


def _dumps(value: object) -> str:
    return json.dumps(value)  # ASCII with \u escapes; floats nan/inf give NaN/Infinity: malformed JSON too


def _healthz(url: str) -> dict:
    res = httpx.get(url + "/healthz", timeout=10)
    assert res.status_code == 200
    return res.json()["rejections"]


# ---- HTTP ---------------------------------------------------------------------------------------
def endpoints(app) -> list[tuple[str, str, list[str], list[str]]]:
    """(method, path template, query names, body field names) of every route, from the app's OpenAPI."""
    schema = app.openapi()
    models = schema.get("components", {}).get("schemas", {})
    found = []
    for path, ops in schema["paths"].items():
        for method, op in ops.items():
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
            fields = models.get(body.get("$ref", "").rsplit("/", 1)[-1], {}).get("properties", {})
            found.append((method.upper(), path, [p["name"] for p in op.get("parameters", []) if p["in"] == "query"],
                          fields))
    found += [("GET", app.openapi_url, [], {})] if app.openapi_url else []
    found += [("GET", f"{r.path}/{{file}}", [], {}) for r in app.routes if isinstance(r, Mount)]
    return found


def _typed(prop: dict) -> st.SearchStrategy:
    """Mostly a value of the property's own type (so that the request gets past the JSON checks)."""
    by_type = {"string": SURROGATES | TEXT | st.integers(1, 20_000).map(lambda n: "đ" * n),
               "integer": st.integers(-10, 10) | st.integers(), "number": st.floats(), "boolean": st.booleans(),
               "null": st.none()}
    choices = [*prop.get("enum", ()), *([prop["const"]] if "const" in prop else [])]
    options = [st.sampled_from(choices)] if choices else []
    options += [by_type[t] for t in [prop.get("type"), *(a.get("type") for a in prop.get("anyOf", ()))] if t in by_type]
    return st.one_of(*options, JSON_VALUES)


def bodies(fields: dict[str, dict], limit: int) -> st.SearchStrategy:
    """(class, body): bytes, malformed JSON, JSON of any type, the route's fields with wrong values
    or with values of about the right type, a wrong schema_version, an oversized body (with
    Content-Length, and chunked without one)."""
    named = st.dictionaries(st.sampled_from(list(fields)) if fields else TEXT, JSON_VALUES,
                            max_size=max(len(fields), 2))
    typed = st.tuples(st.just("typed"), st.fixed_dictionaries({k: _typed(v) for k, v in fields.items()})
                      .map(lambda v: _dumps(v).encode()))
    return st.one_of(
        typed, typed, typed,  # weighted: these get furthest into the handlers
        st.tuples(st.just("bytes"), st.binary(max_size=300)),
        st.tuples(st.just("text"), TEXT.map(str.encode)),
        st.tuples(st.just("json"), JSON_VALUES.map(lambda v: _dumps(v).encode())),
        st.tuples(st.just("fields"), named.map(lambda v: _dumps(v).encode())),
        st.tuples(st.just("schema_version"), st.tuples(named, BAD_VERSIONS).map(
            lambda t: _dumps({**t[0], "schema_version": t[1]}).encode())),
        st.tuples(st.just("oversized"), st.integers(limit + 1, 3 * limit).map(lambda n: b'{"text": "' + b"x" * n)),
        st.tuples(st.just("chunked"), st.integers(limit + 1, 3 * limit).map(lambda n: b'{"text": "' + b"x" * n)),
    )


def requests_for(path: str, method: str, query: list[str], fields: dict[str, dict], limit: int):
    """One request: its method (sometimes a wrong one), path parameters, query string and body."""
    path_values = TEXT.filter(bool).map(lambda s: quote(s, safe=""))
    names = re.findall(r"{([^}]+)}", path)
    return st.fixed_dictionaries({
        "method": st.integers(0, 9).map(lambda i: "DELETE" if i == 0 else method),
        "path": st.fixed_dictionaries({n: path_values for n in names}).map(
            lambda values: re.sub(r"{([^}]+)}", lambda m: values[m.group(1)], path)),
        "params": st.dictionaries(st.sampled_from(query) | TEXT if query else TEXT,
                                  TEXT | st.integers().map(str) | JSON_VALUES.map(_dumps) | EXTREMES
                                  | st.integers(1000, 3000).map(lambda n: "x" * n), max_size=3),
        "body": bodies(fields, limit),
        "content_type": st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded"]),
    })


def _clear_error(res: httpx.Response) -> bool:
    if "json" in res.headers.get("content-type", ""):
        body = res.json()
        return isinstance(body, dict) and any(isinstance(body.get(k), str) and body[k] for k in ("message", "detail"))
    return "text/html" in res.headers.get("content-type", "") and bool(res.text)


def fuzz_http(url: str, app, headers: dict[str, str], limit: int, skip: set[tuple[str, str]] = frozenset()) -> dict:
    """Fuzz every endpoint of ``app`` served at ``url``; returns what was seen (4xx, transport errors)."""
    seen = {"refused": 0, "broken": 0, "requests": 0}
    with httpx.Client(base_url=url, timeout=10, headers=headers) as client:
        for method, path, query, fields in endpoints(app):
            if (method, path) in skip:
                continue

            @FUZZ_HTTP
            @given(req=requests_for(path, method, query, fields, limit))
            def run(req: dict) -> None:
                kind, body = req["body"]
                content = iter([body[:1000], body[1000:]]) if kind == "chunked" else body
                if req["method"] == "GET":
                    content = None
                try:
                    res = client.request(req["method"], req["path"], params=req["params"], content=content,
                                         headers={"content-type": req["content_type"]})
                except (httpx.WriteError, httpx.RemoteProtocolError, httpx.ReadError):
                    assert kind in ("oversized", "chunked"), f"{req['method']} {req['path']}: connection broken"
                    seen["broken"] += 1  # refused (413) while the body was still being sent
                    return
                seen["requests"] += 1
                what = f"{req['method']} {req['path']} ({kind}) → {res.status_code}: {res.text[:300]}"
                assert res.status_code < 500, what
                if res.status_code >= 400:
                    seen["refused"] += 1
                    assert _clear_error(res), what

            run()
    return seen


def _check_counted(url: str, before: dict, seen: dict) -> None:
    after = _healthz(url)
    counted = after["rejected_requests"] - before["rejected_requests"]
    assert seen["refused"] <= counted <= seen["refused"] + seen["broken"], (seen, after)
    assert after["server_errors"] == before["server_errors"] and after["last_rejected"]


@pytest.fixture(scope="module")
def page(catalog) -> Iterator[PageServer]:  # noqa: F811 - the imported fixture
    s = PageServer(catalog)
    yield s
    s.server.stop()


def test_every_kiosk_page_endpoint_refuses_garbage_clearly(page: PageServer) -> None:
    before = _healthz(page.url)
    seen = fuzz_http(page.url, create_app(EventHub()), {}, DEFAULT_MAX_BODY_BYTES)
    assert seen["refused"] > 100
    _check_counted(page.url, before, seen)


def test_every_dashboard_endpoint_refuses_garbage_clearly(dashboard) -> None:  # noqa: F811
    limit = dashboard.dashboard.settings.max_body_bytes
    before = _healthz(dashboard.url)
    anonymous = fuzz_http(dashboard.url, dashboard.app, {}, limit)
    admin, csrf = login(dashboard, "admin")
    # logged in as admin: all but the routes that end the session or start the dialogue's CLI
    skip = {("POST", "/api/auth/logout"), ("POST", "/api/kb/train"), ("PUT", "/api/kb/records/{record_id}"),
            ("POST", "/api/kb/records/{record_id}/validate")}
    cookies = "; ".join(f"{k}={v}" for k, v in admin.cookies.items())
    logged_in = fuzz_http(dashboard.url, dashboard.app, {"cookie": cookies, "x-csrf-token": csrf}, limit, skip)
    assert admin.get("/api/auth/me").status_code == 200  # the session survived
    _check_counted(dashboard.url, before, {k: anonymous[k] + logged_in[k] for k in anonymous})


@pytest.mark.parametrize("which", ["page", "dashboard"])
def test_garbage_that_is_not_http_leaves_the_servers_answering(which: str, request) -> None:
    url = request.getfixturevalue(which).url
    host, port = url.removeprefix("http://").split(":")
    line = TEXT.map(lambda s: f"POST /api/ask?{s} HTTP/1.1\r\nHost: x\r\nContent-Length: {s}\r\n\r\n{s}".encode())

    @FUZZ
    @given(raw=st.binary(min_size=1, max_size=400) | line)
    def run(raw: bytes) -> None:
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(raw + b"\r\n\r\n")
            sock.shutdown(socket.SHUT_WR)
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        status = re.match(rb"HTTP/1\.1 (\d{3})", answer)
        assert status is None or int(status.group(1)) < 500, answer[:300]

    run()
    _healthz(url)  # still answering


# ---- WebSockets ---------------------------------------------------------------------------------
FRAMES = st.one_of(
    TEXT, st.binary(max_size=300), JSON_VALUES.map(_dumps),
    st.fixed_dictionaries({"kind": st.just("user_input")}, optional={
        "text": JSON_VALUES, "procedure_id": JSON_VALUES, "session_id": JSON_VALUES, "client_ref": JSON_VALUES,
        "action": st.sampled_from(["text", "select_procedure", "repeat", "lookup_address"]) | JSON_VALUES,
        "schema_version": BAD_VERSIONS}).map(_dumps),
    st.integers(1_001, 64_500).map(lambda n: "x" * n),  # the page's limit is 64,000 characters
    st.integers(70_000, 200_000).map(lambda n: "x" * n),  # over uvicorn's 64 KiB: the socket is closed
)


def _until(ws: ClientConnection, done: Callable[[dict], bool]) -> dict:
    for _ in range(500):
        frame = json.loads(ws.recv(timeout=10))
        if done(frame):
            return frame
    raise AssertionError("no such frame")


def _wait_counted(url: str, key: str, expected: int) -> None:
    deadline = time.monotonic() + 10
    while _healthz(url)[key] < expected and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _healthz(url)[key] == expected


def test_the_kiosk_page_websocket_survives_random_frames(page: PageServer) -> None:
    ws_url = page.url.replace("http", "ws") + "/ws"
    refused = _healthz(page.url)["rejected_ws_frames"]
    with connect(ws_url, open_timeout=10) as listener:
        @FUZZ
        @given(frames=st.lists(FRAMES, min_size=1, max_size=4))
        def run(frames: list) -> None:
            nonlocal refused
            with connect(ws_url, max_size=None, open_timeout=10) as ws:
                for frame in frames:
                    ws.send(frame)
                    if len(frame) > 65536:
                        with pytest.raises(ConnectionClosed):
                            _until(ws, lambda f: f["kind"] in ("ack", "error"))
                        refused += 1
                        return
                    answer = _until(ws, lambda f: f["kind"] in ("ack", "error"))
                    if answer["kind"] == "error":
                        refused += 1
                        assert isinstance(answer["message"], str) and answer["message"]

        run()
        reply = Reply(intent="fuzz", reply_voice="Robot vẫn chạy.")
        page.hub.publish(reply)
        _until(listener, lambda f: f.get("reply_id") == reply.reply_id)  # the other page still gets events
    _wait_counted(page.url, "rejected_ws_frames", refused)


def test_the_staff_websocket_survives_random_frames(dashboard) -> None:  # noqa: F811
    ws_url = dashboard.url.replace("http", "ws") + "/ws"
    staff, _ = login(dashboard, "lan")
    headers = {"Cookie": f"kdash_session={staff.cookies['kdash_session']}", "Origin": dashboard.url}
    refused = _healthz(dashboard.url)["rejected_ws_frames"]
    with pytest.raises(InvalidStatus):
        connect(ws_url, open_timeout=10)  # no session: refused, counted
    refused += 1
    with connect(ws_url, additional_headers=headers, open_timeout=10) as listener:
        @FUZZ
        @given(frames=st.lists(FRAMES, min_size=1, max_size=4))
        def run(frames: list) -> None:
            nonlocal refused
            with connect(ws_url, additional_headers=headers, max_size=None, open_timeout=10) as ws:
                assert json.loads(ws.recv(timeout=10))["kind"] == "snapshot"
                for frame in frames:
                    if len(frame) > 65536:  # uvicorn drops the frames it still holds when it refuses one
                        _wait_counted(dashboard.url, "rejected_ws_frames", refused)
                    ws.send(frame)
                    refused += 1  # the staff socket takes no input: every frame is refused
                    if len(frame) > 1000:  # too big: the server closes the socket
                        with pytest.raises(ConnectionClosed):
                            while True:
                                ws.recv(timeout=10)
                        break
                _wait_counted(dashboard.url, "rejected_ws_frames", refused)  # counted while connected

        run()
        esc = Escalation(session_id="fuzz", reason="visitor_request")
        dashboard.dashboard.on_message("kiosk_fuzz", "dialogue/escalation", kiosk_protocol.encode(esc))
        _until(listener, lambda f: f["kind"] == "escalation_state"
               and f["escalation"]["escalation_id"] == esc.escalation_id)
    _wait_counted(dashboard.url, "rejected_ws_frames", refused)


# ---- topics -------------------------------------------------------------------------------------
KINDS = {cls.model_fields["kind"].default: cls for cls in typing.get_args(typing.get_args(kiosk_protocol.Message)[0])}
# topic → kind, from the table in kiosk_protocol's docstring
TOPIC_KINDS = {m.group(1): KINDS[m.group(2)] for m in re.finditer(r"^(\w+/\w+)(?: \(latched\))?\s+(\w+)\s",
                                                                   kiosk_protocol.__doc__, re.MULTILINE)}


CARD_KEYS = ["speech_rate", "type", "title", "text", "procedure", "address", "choices", "candidates", "elsewhere"]


def sample(cls) -> dict:
    """A valid payload of ``cls`` as a dict: its required fields filled in from their types."""
    simple = {str: "x", int: 1, float: 0.0, bool: False, list: [], dict: {}}
    values = {}
    for name, field in cls.model_fields.items():
        if field.is_required():
            kind = typing.get_origin(field.annotation)
            values[name] = ("AAAAAA==" if name.endswith("_b64") else typing.get_args(field.annotation)[0]
                            if kind is typing.Literal else simple[kind or field.annotation])
    return json.loads(cls(**values).model_dump_json())


def garbage(kind: type | None) -> st.SearchStrategy[str]:
    """Payloads for a topic that carries ``kind`` (None: any kind)."""
    kinds = st.just(kind) if kind is not None else st.sampled_from(list(KINDS.values()))
    limit = MAX_PAYLOAD_CHARS.get(sample(kind)["kind"] if kind else "", DEFAULT_MAX_PAYLOAD_CHARS)
    strings = [n for n, f in (kind.model_fields.items() if kind else ()) if f.annotation is str]

    def mutated(draw_field) -> st.SearchStrategy[str]:
        return kinds.flatmap(lambda k: st.tuples(st.just(sample(k)), st.sampled_from(list(k.model_fields)),
                                                 draw_field).map(lambda t: _dumps({**t[0], t[1]: t[2]})))

    options = [
        TEXT, st.binary(max_size=200).map(lambda b: b.decode("latin-1")), JSON_VALUES.map(_dumps),
        st.sampled_from(list(KINDS.values())).map(lambda k: _dumps(sample(k))),  # any kind, also the wrong one
        mutated(JSON_VALUES),  # one field of the wrong type
        mutated(st.dictionaries(st.sampled_from(CARD_KEYS), JSON_VALUES, min_size=1)),  # a card with bad values
        kinds.flatmap(lambda k: BAD_VERSIONS.map(lambda v: _dumps({**sample(k), "schema_version": v}))),
        kinds.map(lambda k: _dumps({**sample(k), "unexpected_field": 1})),
        st.integers(300_000, 320_000).map(lambda n: "{" + "x" * n),
    ]
    if strings and limit <= DEFAULT_MAX_PAYLOAD_CHARS:  # the right kind, with a string over its limit
        options.append(st.tuples(st.sampled_from(strings), st.integers(limit + 1, limit + 5_000)).map(
            lambda t: _dumps({**sample(kind), t[0]: "x" * t[1]})))
    return st.one_of(options)


def _refused(data: str, kind: type | None) -> bool:
    try:
        kiosk_protocol.decode(data, kind)
    except ProtocolError:
        return True
    return False


@pytest.mark.ros
def test_every_subscribed_topic_of_every_node_refuses_garbage(tmp_path, recorder_factory) -> None:
    from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
    from geometry_msgs.msg import Twist
    from nav_msgs.msg import Odometry
    from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
    from std_msgs.msg import Bool, String

    ns, center = "fuzz_kiosk", "fuzz_center"
    kiosk = Kiosk(tmp_path / "kiosk", ns, dashboard=True, dashboard_namespace=center)
    fleet = Kiosk(tmp_path / "center", center, nodes="fleet_bridge", extra_args=["--profile", "center"],
                  overrides={"fleet_bridge": {"province": "fuzz", "center": "fuzz", "discovery_period_s": 0.5}})
    recorder = recorder_factory(ns)
    graph = recorder.node
    try:
        names = recorder.wait_for(lambda: (d := {n: s for n, s in recorder.diagnostics.items()
                                                 if n.startswith((f"/{ns}/", f"/{center}/"))})
                                  and len(d) >= 11 and all(s["values"].get("lifecycle_state") == "active"
                                                           for s in d.values()) and sorted(d), 120, "every node active")
        subscribed: dict[str, set[str]] = {}  # node → the topics it subscribes to in the kiosk's namespace
        types: dict[str, str] = {}

        def scan() -> bool:
            for name, node_ns in graph.get_node_names_and_namespaces():
                if node_ns in (f"/{ns}", f"/{center}") and name != "test_recorder":
                    for topic, kinds in graph.get_subscriber_names_and_types_by_node(name, node_ns):
                        if topic.startswith(f"/{ns}/"):
                            subscribed.setdefault(f"{node_ns}/{name}", set()).add(topic)
                            types[topic] = kinds[0]
            return all(f"/{ns}/dialogue/reply" in subscribed.get(f"/{center}/{n}", ()) for n in ("dashboard",
                                                                                                 "fleet_bridge"))

        recorder.wait_for(scan, 30, "the dashboard and the fleet bridge subscribed to the kiosk")
        before = {n: int(s["values"]["rejected_messages"]) for n, s in recorder.diagnostics.items()
                  if _graph_name(n) in subscribed}
        qos = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE,
                         durability=DurabilityPolicy.TRANSIENT_LOCAL)  # also reaches the latched subscribers
        msg_types = {"std_msgs/msg/String": String, "std_msgs/msg/Bool": Bool, "geometry_msgs/msg/Twist": Twist,
                     "nav_msgs/msg/Odometry": Odometry}
        pubs = {t: graph.create_publisher(msg_types[ty], t, qos) for t, ty in types.items()}
        pubs["/diagnostics"] = graph.create_publisher(DiagnosticArray, "/diagnostics", 10)
        time.sleep(2.0)  # discovery
        floats = st.floats() | st.sampled_from([float("nan"), float("inf"), -float("inf")])
        strategies = {
            String: lambda t: garbage(TOPIC_KINDS.get(t.removeprefix(f"/{ns}/"))).map(lambda d: String(data=d)),
            Bool: lambda t: st.booleans().map(lambda b: Bool(data=b)),
            Twist: lambda t: st.tuples(floats, floats).map(lambda v: _twist(Twist(), *v)),
            Odometry: lambda t: st.tuples(floats, floats).map(lambda v: _odom(Odometry(), *v)),
        }
        sent = {topic: _publish_examples(pubs[topic], strategies[msg_types[ty]](topic))
                for topic, ty in sorted(types.items())}
        statuses = st.builds(lambda name, level, text, kv: DiagnosticStatus(
            name=name, level=bytes([level]), message=text, values=[KeyValue(key=k, value=v) for k, v in kv]),
            TEXT, st.integers(0, 255), TEXT, st.lists(st.tuples(TEXT, TEXT), max_size=4))

        @FUZZ
        @given(batch=st.lists(statuses, max_size=4))
        def diagnostics(batch) -> None:
            pubs["/diagnostics"].publish(DiagnosticArray(status=batch))

        diagnostics()
        refused = sum(_refused(m.data, TOPIC_KINDS.get(t.removeprefix(f"/{ns}/"))) for t, ms in sent.items()
                      for m in ms if isinstance(m, String))
        assert refused > 100
        time.sleep(3.0)
        recorder.diagnostics.clear()
        recorder.wait_for(lambda: all(recorder.diagnostics.get(n, {}).get("values", {}).get("lifecycle_state")
                                      == "active" for n in names), 30, "every node still active")
        for name in before:  # each node counted refusals, never more than it was sent
            counted = int(recorder.diagnostics[name]["values"]["rejected_messages"]) - before[name]
            received = sum(len(sent[t]) for t in subscribed[_graph_name(name)])
            assert 0 < counted <= received, f"{name}: {counted} of {received}: {recorder.diagnostics[name]}"
        for process in ("microphone", "asr", "dialogue", "tts", "ui", "dashboard", "perception", "motion", "base"):
            assert len(kiosk.pids(process)) == 1, f"{process} was restarted: {kiosk.log_tail()}"
        assert len(fleet.pids("fleet_bridge")) == 1, fleet.log_tail()
        for url, name in ((kiosk.url, f"/{ns}/ui/ui"), (kiosk.dashboard_url, f"/{center}/dashboard/dashboard")):
            assert httpx.post(url + "/api/ask", content=b"{", timeout=10).status_code in (401, 404, 422)
            recorder.wait_for(lambda n=name: recorder.diagnostics.get(n, {}).get("values", {}).get(
                "rejected_requests") == "1", 10, f"{name} publishing its web app's refusals")
        question = UserInput(text="làm giấy khai sinh cần gì")
        recorder.publish("ui/input", kiosk_protocol.encode(question))
        recorder.wait_for(lambda: any(isinstance(r, dict) and r.get("in_reply_to") == question.input_id
                                      for r in recorder.get("dialogue/reply")), 30, "a reply to a typed question")
    finally:
        codes = kiosk.stop(), fleet.stop()
        assert codes == (0, 0), kiosk.log_tail() + fleet.log_tail()


def _graph_name(diagnostics_name: str) -> str:
    """/<ns>/<area>/<node> (diagnostics) → /<ns>/<node> (the ROS graph)."""
    parts = diagnostics_name.split("/")
    return f"/{parts[1]}/{parts[-1]}"


def _publish_examples(publisher, messages: st.SearchStrategy) -> list:
    """Publish the examples of ``messages`` (paced a little: the subscribers' queues are 10 deep)."""
    sent: list = []

    @FUZZ
    @given(msg=messages)
    def run(msg) -> None:
        publisher.publish(msg)
        sent.append(msg)
        time.sleep(0.005)

    run()
    return sent


def _twist(msg, linear: float, angular: float):
    msg.linear.x, msg.angular.z = linear, angular
    return msg


def _odom(msg, z: float, w: float):
    msg.pose.pose.orientation.z, msg.pose.pose.orientation.w = z, w
    return msg
