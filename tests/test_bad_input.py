"""Bad input never crashes (issue 14): one clear line on stderr, the documented exit code, no
traceback, no hang, nothing half-written.

First each reported case as its own test, then a seeded fuzz of generated bad inputs (well over
300) across `reply --json`, `assess --jsonl`, chat commands, and settings from flags, variables and
the config file. Most calls run `main()` in this process, on a thread with a time limit, so the
assessor loads once; the chat, the JSONL stream and `serve` run as real processes.
"""

from __future__ import annotations

import http.server
import io
import json
import logging
import os
import random
import socket
import string
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable
from unittest import mock

import pytest

from typingcure.commands import command_of
from typingcure.cli.main import main
from typingcure.config import COUNTRIES, load_settings
from typingcure.errors import ConfigError
from typingcure.roles import role_names

from .conftest import free_port, run_cli, write_script

SEED = 14
LEVELS = {"none", "low", "moderate", "high", "imminent"}
CONTRACT_KEYS = {"reply", "risk", "actions", "resources", "notes"}
INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e\u2800\u3164\ufe0f\u034f"
MUNDANE = ["a long day at work", "I walked by the sea today", "my sister called, it was nice", "I can't decide what to cook",
           "the bus was late again", "exams next week, a bit tired"]
CHECKED = ["KE", "GB", "NG", "BR", "IN", "US", "FR"]


# -- helpers ------------------------------------------------------------------------------------------


@dataclass
class Done:
    returncode: int
    stdout: bytes
    stderr: str


def call(*args: str, stdin: bytes | str = b"", env: dict[str, str] | None = None, timeout: float = 30) -> Done:
    """`typingcure ARGS` in this process, on a thread: a hang fails the test, an escaped exception too."""
    data = stdin.encode() if isinstance(stdin, str) else stdin
    out, err = io.BytesIO(), io.StringIO()
    streams = {"stdin": io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"),
               "stdout": io.TextIOWrapper(out, encoding="utf-8", write_through=True), "stderr": err}
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            main(list(args))
            result["code"] = 0
        except SystemExit as exc:
            result["code"] = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
        except BaseException as exc:  # noqa: BLE001 - reported below as the failure it is
            result["error"] = exc

    level = logging.getLogger().level
    with mock.patch.dict(os.environ, env or {}), mock.patch.multiple(sys, **streams):
        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        worker.join(timeout)
    logging.getLogger().setLevel(level)
    assert not worker.is_alive(), f"typingcure {args} did not finish within {timeout} s"
    if "error" in result:
        raise AssertionError(f"typingcure {args} raised {result['error']!r}") from result["error"]
    return Done(result["code"], out.getvalue(), err.getvalue())


def one_clear_line(stderr: bytes | str) -> str:
    text = stderr.decode("utf-8", "replace") if isinstance(stderr, bytes) else stderr
    assert "Traceback" not in text and "unexpected error" not in text, text
    lines = text.strip("\n").split("\n")
    assert len(lines) == 1 and lines[0].startswith("typingcure: ") and text.endswith("\n"), text
    return lines[0]


def bad(done: Done, code: int = 2) -> str:
    """The documented exit code, one line on stderr, and nothing on stdout."""
    assert done.returncode == code, (done.returncode, done.stderr)
    assert done.stdout == b"", done.stdout[:300]
    return one_clear_line(done.stderr)


def nothing_in(home: Path, but: tuple[str, ...] = ()) -> None:
    left = [p.name for p in home.rglob("*") if p.name not in but] if home.exists() else []
    assert not left, left


def in_parallel(runs: list[Callable[[], Any]]) -> list[Any]:
    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(lambda run: run(), runs))


@pytest.fixture
def script(tmp_path: Path) -> str:
    path = tmp_path / "replies.yaml"
    path.write_text(json.dumps({"replies": ["That sounds like a lot. What has today been like?"], "cycle": True}))
    return f"scripted:{path}"


def _request(content: str = "a long day at work", **extra: Any) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": content}], "profile": {"country": "KE"}, "role": "listener", **extra}


def _unknown_country(rng: random.Random) -> str:
    while (code := "".join(rng.choices(string.ascii_uppercase, k=2))) in COUNTRIES:
        pass
    return code


# -- each reported case -------------------------------------------------------------------------------


def test_deeply_nested_json_to_reply_is_one_line(script: str, home: Path) -> None:
    done = run_cli("reply", "--json", "--backend", script, stdin=b"[" * 100_000)
    assert done.returncode == 2 and done.stdout == b""
    assert "nested too deeply" in one_clear_line(done.stderr)
    nothing_in(home)


def test_a_lone_surrogate_gets_an_error_line_and_the_next_line_is_answered() -> None:
    lines = b'{"id": 1, "text": "hi \\ud800"}\n{"id": 2, "text": "hello"}\n{"id": "\\udfff", "text": "hello"}\n'
    done = run_cli("assess", "--jsonl", stdin=lines, timeout=60)
    out = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert out[0]["id"] == 1 and "lone surrogate" in out[0]["error"]
    assert out[1]["id"] == 2 and out[1]["level"] == "none"
    assert out[2]["id"] == "\udfff" and out[2]["level"] == "none"  # an id is the caller's: echoed as it came
    assert done.returncode == 2 and "1 line could" in one_clear_line(done.stderr)


def test_assess_error_lines_keep_the_id_when_it_can_be_read() -> None:
    lines = b"\n".join([b'{"id": "a"}', b'{"id": 2, "text": "x", "history": [{"role": "robot", "content": "x"}]}',
                        b'{"id": 3, "text": "caf\xe9"}', b'{"id": 4, "text": "x", "n": NaN}', b'{"id": "\xff", "text": "x"}',
                        b"{broken", b'{"id": 7, "text": 5}']) + b"\n"
    done = run_cli("assess", "--jsonl", stdin=lines, timeout=60)
    out = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert [o["id"] for o in out] == ["a", 2, 3, 4, None, None, 7]
    assert all(set(o) == {"id", "error"} for o in out)
    assert done.returncode == 2


@pytest.mark.parametrize("args, stdin", [(("assess", "--jsonl"), b""), (("assess", "--jsonl"), b"\n  \n\t\n"),
                                         (("assess",), b""), (("assess",), INVISIBLE.encode())])
def test_empty_assess_input_is_bad_input(args: tuple[str, ...], stdin: bytes) -> None:
    line = bad(call(*args, stdin=stdin))
    assert "input is empty" in line or "no input" in line


def test_a_message_of_only_zero_width_characters_is_empty(script: str, home: Path) -> None:
    blank = "\u200b\u200d\u2060\ufeff"
    assert "the message is empty" in bad(call("reply", "--json", "--backend", script, stdin=json.dumps(_request(blank))))
    assert "the message is empty" in bad(call("reply", "--backend", script, stdin=blank))
    done = call("assess", "--jsonl", stdin=json.dumps({"id": 1, "text": blank}) + "\n")
    assert done.returncode == 0 and json.loads(done.stdout)["level"] == "none"  # read as empty, like ""
    nothing_in(home)


@pytest.mark.parametrize("args, stdin, env", [
    (("reply", "--country", "ZZ"), "a long day", {}),
    (("reply", "--json"), json.dumps(_request(profile={"country": "zz"})), {}),
    (("reply", "--json"), json.dumps(_request(profile={"country": "XX"})), {}),
    (("reply",), "a long day", {"TYPINGCURE_COUNTRY": "ZZ"}),
    (("chat", "--country", "ZZZZ"), "hello\n", {}),
    (("chat",), "hello\n", {"TYPINGCURE_COUNTRY": "QQ"}),
])
def test_unknown_country_codes_are_bad_input(args: tuple[str, ...], stdin: str, env: dict[str, str], script: str,
                                             home: Path) -> None:
    line = bad(call(*args, "--backend", script, stdin=stdin, env=env))
    assert "unknown country code" in line and "typingcure countries" in line
    nothing_in(home)


def test_countries_lists_the_valid_codes() -> None:
    done = call("countries")
    lines = done.stdout.decode().splitlines()
    assert done.returncode == 0 and "* KE  Kenya" in lines and "  LU  Luxembourg" in lines
    assert sum(1 for line in lines if line[2:4] in COUNTRIES) == len(COUNTRIES) == 249


def test_chat_survives_bad_commands(script: str) -> None:
    talk = "/country ZZZZ\n/country zz\n/plan edit \u00b2\n/role nope\n/country ke\n/resources\n/end\n"
    done = call("chat", "--backend", script, stdin=talk, env={"TYPINGCURE_HISTORY": "off"})
    out = done.stdout.decode()
    assert done.returncode == 0 and "Traceback" not in out + done.stderr
    assert out.count("typingcure: unknown country code") == 2 and "typingcure: unknown role 'nope'" in out
    assert "Type /plan edit N" in out and "Country set to KE." in out and "1199" in out


def serve_cases(taken: int) -> list[tuple[tuple[str, ...], dict[str, str], str]]:
    """(flags, variables, what the one line must say) for `serve`."""
    return [
        (("--port", "99999"), {}, "--port"), (("--port", "0"), {}, "--port"), (("--port", "http"), {}, "--port"),
        (("--port", str(taken)), {}, "cannot listen"),
        (("--idle-minutes", "nan"), {}, "--idle-minutes"), (("--idle-minutes", "-5"), {}, "--idle-minutes"),
        (("--idle-minutes", "0"), {}, "--idle-minutes"), (("--idle-minutes", "inf"), {}, "--idle-minutes"),
        (("--token", "x"), {}, "at least 16"), (("--token", "s3cret"), {}, "at least 16"),
        (("--token", "p\u00e4ssw\u00f6rd-lang-genug-1"), {}, "only letters"), (("--token", "has a space in it, long"), {}, "only letters"),
        ((), {"TYPINGCURE_WEB_TOKEN": "short"}, "TYPINGCURE_WEB_TOKEN"),
        (("--host", "0.0.0.0"), {}, "without an access token"),
        (("--host", "nowhere.invalid", "--token", "a" * 20), {}, "cannot listen"),
        (("--backend", "nope:x"), {}, "unknown backend 'nope'"), ((), {"TYPINGCURE_BACKEND": "nope:x"}, "unknown backend"),
        (("--backend", "openai:no-url"), {}, "openai:MODEL@URL"),
        ((), {"TYPINGCURE_COUNTRY": "ZZZ"}, "typingcure countries"), ((), {"TYPINGCURE_TIMEOUT": "inf"}, "finite"),
        ((), {"TYPINGCURE_ASSESSOR_MODEL": "nope"}, "unknown backend"),
    ]


def _serve_args(script: str, args: tuple[str, ...], env: dict[str, str]) -> tuple[str, ...]:
    backend = () if "TYPINGCURE_BACKEND" in env else ("--backend", script)
    return ("serve", "--port", str(free_port()), *backend, *args)


def test_serve_refuses_bad_settings_before_it_starts(script: str, home: Path) -> None:
    with socket.socket() as taken, mock.patch("uvicorn.run", side_effect=AssertionError("the server started")):
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        for args, env, fragment in serve_cases(taken.getsockname()[1]):
            done = call(*_serve_args(script, args, env), env=env)
            assert done.returncode == 2, (args, env, done.stderr)
            assert fragment in bad(done), (args, env, done.stderr)
    nothing_in(home)


def test_serve_in_a_real_process_stops_at_start(script: str, home: Path) -> None:
    cases = [(("--port", "99999"), {}), (("--backend", "nope:x"), {}), ((), {"TYPINGCURE_COUNTRY": "ZZZ"}),
             (("--idle-minutes", "nan"), {})]
    results = in_parallel([lambda a=args, e=env: run_cli(*_serve_args(script, a, e), env=e, timeout=30)  # a hang: TimeoutExpired
                           for args, env in cases])
    for (args, env), done in zip(cases, results):
        assert done.returncode == 2 and done.stdout == b"", (args, env, done.stderr)
        one_clear_line(done.stderr)
    nothing_in(home)


def test_settings_say_the_value_and_where_it_came_from(home: Path) -> None:
    with pytest.raises(ConfigError, match=r"timeout = 'inf' \(from TYPINGCURE_TIMEOUT\): Input should be a finite number"):
        load_settings(environ={"TYPINGCURE_TIMEOUT": "inf"})
    with pytest.raises(ConfigError, match=r"country = 'ZZZZ' \(from --country\)"):
        load_settings({"country": "ZZZZ"}, environ={})
    assert load_settings({"country": " ke "}, environ={"TYPINGCURE_LANGUAGE": "PT-BR"}).country == "KE"
    home.mkdir(parents=True)
    (home / "config.toml").write_text('timeout = nan\nnonsense = 1\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={})
    assert f"(from {home / 'config.toml'})" in caught.value.message and "unknown setting 'nonsense'" in caught.value.message


@pytest.mark.parametrize("history", ["on", "off"])
def test_the_welcome_says_what_is_true(history: str, script: str) -> None:
    done = call("chat", "--backend", script, stdin="/end\n",
                env={"TYPINGCURE_HISTORY": history, "TYPINGCURE_PASSPHRASE": "a long enough passphrase"})
    out = done.stdout.decode()
    assert done.returncode == 0 and "Welcome" in out
    kept = "This conversation is kept on this computer, encrypted" in out
    assert kept == (history == "on")
    assert ("nothing to delete afterwards" in out) == (history == "off")
    assert "nothing is written to disk" not in out


class _Refuses(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(400)
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"no")

    def log_message(self, *_args: Any) -> None:
        pass


def test_requests_to_the_model_server_are_not_logged() -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Refuses)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        backend = f"openai:m@http://127.0.0.1:{server.server_address[1]}/v1"
        done = run_cli("reply", "--json", "--backend", backend, stdin=json.dumps(_request()), timeout=60)
    finally:
        server.shutdown()
    assert done.returncode == 3 and "answered 400" in one_clear_line(done.stderr)  # wordllama was loaded: it set INFO


def test_an_unforeseen_error_is_one_line_too(script: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args: Any) -> None:
        raise KeyError("surprise")

    monkeypatch.setattr("typingcure.cli.reply.reply_to", broken)
    done = call("reply", "--backend", script, stdin="hello")
    assert done.returncode == 1
    assert "unexpected error (KeyError" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    with mock.patch.dict(os.environ, {"TYPINGCURE_DEBUG": "1"}), mock.patch.object(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"hi"))):
        with pytest.raises(KeyError):
            main(["reply", "--backend", script])


# -- the fuzz -----------------------------------------------------------------------------------------


def _lone_surrogate(rng: random.Random) -> str:
    """A JSON escape that decodes to half a pair: valid JSON syntax, not a character."""
    return rng.choice(["\\ud800", "\\udbff", "\\udc00", "\\udfff", "\\ude00\\ud83d", "\\ud83d x"])


def bad_requests(rng: random.Random) -> list[tuple[str, bytes]]:
    """Requests `reply --json` must refuse with exit 2; each family several times, seeded."""

    def dump(obj: Any) -> bytes:
        return json.dumps(obj, ensure_ascii=False).encode()

    def last(content: Any) -> bytes:
        return dump(_request(content))

    def profile(**values: Any) -> bytes:
        return dump(_request(profile={"country": "KE", **values}))

    def surrogate() -> bytes:
        where = rng.choice(["content", "earlier", "key", "role"])
        escape = _lone_surrogate(rng)
        if where == "content":
            return last("hello SURR there").replace(b"SURR", escape.encode())
        if where == "earlier":
            return dump({"messages": [{"role": "user", "content": "SURR"}, {"role": "assistant", "content": "ok"},
                                      {"role": "user", "content": "and today"}]}).replace(b"SURR", escape.encode())
        if where == "key":
            return dump(_request(SURR=1)).replace(b"SURR", escape.encode())
        return dump({"messages": [{"role": "SURR", "content": "x"}]}).replace(b"SURR", escape.encode())

    shapes: list[Any] = [[], [_request()], 1, "hello", None, True, {}, {"messages": None}, {"messages": "hi"},
                         {"messages": []}, {"messages": [1]}, {"messages": [[]]}, {"messages": [{"role": "user"}]},
                         {"messages": [{"content": "hi"}]}, {"messages": [{"role": "robot", "content": "hi"}]},
                         {"messages": [{"role": 1, "content": "hi"}]}, {"messages": [{"role": "system", "content": "hi"}]},
                         {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]},
                         {"messages": {"role": "user", "content": "hi"}}]
    blanks = ["", " ", "\t\n  ", "\r\n", "\x00\x01\x1b", *INVISIBLE, "\u3000\u2028\u2029"]
    families: dict[str, Callable[[], bytes]] = {
        "truncated": lambda: (lambda b: b[: rng.randrange(1, len(b) - 1)])(last(rng.choice(MUNDANE))),
        "junk bytes": lambda: b"#" + rng.randbytes(rng.randrange(0, 200)),
        "not UTF-8": lambda: last("hello there").replace(b"ll", rng.choice([b"\xff", b"\xc3(", b"\xed\xa0\x80", b"\x80", b"\xf8\x88\x80\x80"])),
        "nested": lambda: (lambda n, o: (o * n + ("]" * n if o == "[" else "")).encode())(
            rng.randrange(1_100, 150_000), rng.choice(["[", '{"a":', '{"messages":['])),
        "shape": lambda: dump(rng.choice(shapes)),
        "content type": lambda: last(rng.choice([5, 1.5, None, True, [], ["hi"], {"text": "hi"}])),
        "blank": lambda: last("".join(rng.choices(blanks, k=rng.randrange(1, 30)))),
        "too long": lambda: last("ab " * rng.randrange(5_400, 20_000)),
        "surrogate": surrogate,
        "country": lambda: profile(country=rng.choice([_unknown_country(rng), "ZZZZ", "1", "K", "XX", "UK", "K1", "\U0001f1f0\U0001f1ea",
                                                       5, [], {}, True])),
        "language": lambda: profile(language=rng.choice(["!!", "a", "x" * 9, 5, "en_US", "12", "e1"])),
        "profile": lambda: dump(_request(profile=rng.choice(["KE", [], 5, None, True]))),
        "role": lambda: dump(_request(role=rng.choice(["".join(rng.choices(string.ascii_lowercase, k=rng.randrange(2, 12))),
                                                       "../listener", 5, [], {}, True]))),
        "not JSON values": lambda: last("hi").replace(b'"role": "listener"', b'"role": "listener", "x": ' + rng.choice(
            [b"NaN", b"Infinity", b"-Infinity", b"1e999", b"-1e400", b"9" * 5000])),
    }
    names = list(families)
    return [(name, families[name]()) for name in (names * 11)[:150]]


def odd_but_fine(rng: random.Random) -> list[bytes]:
    """Requests that look strange and are valid: each gets a whole reply, exit 0."""
    contents = ["\U0001f622\U0001f622 today", "\u05d0\u05e0\u05d9 \u05e2\u05d9\u05d9\u05e3", "\u0645\u0631\u062d\u0628\u0627\u060c \u064a\u0648\u0645 \u0635\u0639\u0628",
                "e\u0301te\u0301 tiring", "\U0001f468\u200d\U0001f469\u200d\U0001f467 family stuff", "tab\tinside", "hi\x00there",
                "ok " * 5000, "\u200bhello\u200b"]
    requests = [json.dumps(_request(c)).encode() for c in contents]
    requests += [json.dumps(_request(profile={"country": " ke ", "language": "PT-BR"})).encode(),
                 json.dumps({"messages": [{"role": "assistant", "content": "Hello."}, {"role": "user", "content": "hi"}], "extra": [1]}).encode(),
                 json.dumps(_request(rng.choice(MUNDANE), role="journal")).encode()]
    return requests


def test_fuzz_reply_json(script: str, home: Path) -> None:
    rng = random.Random(SEED)
    for family, stdin in bad_requests(rng):
        done = call("reply", "--json", "--backend", script, stdin=stdin)
        assert done.returncode == 2, (family, stdin[:200], done.stderr)
        assert done.stdout == b"", (family, stdin[:200])
        one_clear_line(done.stderr)
    for stdin in odd_but_fine(rng):
        done = call("reply", "--json", "--backend", script, stdin=stdin)
        assert done.returncode == 0, (stdin[:200], done.stderr)
        assert set(json.loads(done.stdout)) == CONTRACT_KEYS and done.stdout.endswith(b"}\n")
    nothing_in(home)


def assess_lines(rng: random.Random) -> list[tuple[bytes, tuple[str, Any] | None]]:
    """JSONL lines and what each must get: ("ok", id), ("error", id or None), or None (blank: no line)."""

    def line(obj: Any) -> bytes:
        return json.dumps(obj, ensure_ascii=False).encode()

    def junk() -> bytes:
        return b"#" + rng.randbytes(rng.randrange(1, 120)).replace(b"\n", b" ")

    odd_ids: list[Any] = ["\u00e9t\u00e9 \U0001f600", {"a": [1, {"b": None}]}, [1, "x"], 1.5, -7, 10 ** 50, "", True]
    bad_history: list[Any] = ["x", 5, [5], [None], [{"role": "robot", "content": "x"}], [{"role": "user"}],
                              [{"role": "user", "content": 5}], [{"role": "user", "content": "x", "extra": 1}], {"a": 1}]
    families: list[Callable[[int], tuple[bytes, tuple[str, Any] | None]]] = [
        lambda i: (line({"id": i, "text": rng.choice(MUNDANE)}), ("ok", i)),
        lambda i: (line({"id": i, "text": "".join(rng.choices(INVISIBLE, k=rng.randrange(1, 20)))}), ("ok", i)),
        lambda i: (line({"id": i, "text": "and today", "history": ["I lost my job", {"role": "assistant", "content": "Oh no."}]}), ("ok", i)),
        lambda i: (lambda ident: (line({"id": ident, "text": "hello"}), ("ok", ident)))(rng.choice(odd_ids)),
        lambda i: (b'{"id": "\\ud800", "text": "hello"}', ("ok", "\ud800")),
        lambda i: (b'{"id": %d, "text": "caf' % i + rng.choice([b"\xff", b"\xe9", b"\xed\xa0\x80", b"\xc0\xaf"]) + b'"}', ("error", i)),
        lambda i: (b'{"id": "\xfe\xff", "text": "x"}', ("error", None)),
        lambda i: (junk(), ("error", None)),
        lambda i: (rng.choice([b"[", b'{"a":']) * rng.randrange(1_100, 100_000), ("error", None)),
        lambda i: (line(rng.choice([[i], i, "text", None, False, []])), ("error", None)),
        lambda i: (line(rng.choice([{"id": i}, {"id": i, "text": 5}, {"id": i, "text": None}, {"id": i, "text": ["x"]}])), ("error", i)),
        lambda i: (line({"id": i, "text": "x", "history": rng.choice(bad_history)}), ("error", i)),
        lambda i: (line({"id": i, "text": "hi SURR"}).replace(b"SURR", _lone_surrogate(rng).encode()), ("error", i)),
        lambda i: (line({"id": i, "text": "hi", "history": ["SURR"]}).replace(b"SURR", _lone_surrogate(rng).encode()), ("error", i)),
        lambda i: (line({"id": i, "text": "x"})[:-1] + b', "n": ' + rng.choice([b"NaN", b"Infinity", b"-1e999", b"7" * 5000]) + b"}", ("error", i)),
        lambda i: (rng.choice([b"", b"   ", b"\t", b"\r"]), None),
    ]
    out = [families[i % len(families)](i) for i in range(224)]
    rng.shuffle(out)
    out.insert(100, (b'{"id": "huge", "text": "' + b"a" * (8 * 1024 * 1024) + b'"}', ("error", None)))
    return out


def test_fuzz_assess_jsonl() -> None:
    lines = assess_lines(random.Random(SEED))
    done = run_cli("assess", "--jsonl", stdin=b"".join(raw + b"\n" for raw, _ in lines), timeout=90)
    expected = [want for _, want in lines if want is not None]
    got = [json.loads(text) for text in done.stdout.decode("utf-8").split("\n")[:-1]]
    assert len(got) == len(expected)  # every line answered, in order, each a whole JSON line
    for (kind, ident), out in zip(expected, got):
        assert out["id"] == ident, (kind, ident, out)
        if kind == "error":
            assert set(out) == {"id", "error"} and out["error"], out
        else:
            assert set(out) == {"id", "level", "categories", "score"} and out["level"] in LEVELS and 0 <= out["score"] <= 1, out
    failures = sum(1 for kind, _ in expected if kind == "error")
    assert done.returncode == 2 and f"typingcure: {failures} line{'' if failures == 1 else 's'} could" in one_clear_line(done.stderr)


def chat_lines(rng: random.Random) -> list[tuple[bytes, str]]:
    """Lines for one chat session and what each must give: error (one 'typingcure:' line), unknown, skip, turn, info."""
    unknown_roles = [r for r in ("guru", "coach2", "../listener", "LISTENER", "listener journal", "\u200b") if r not in role_names()]
    families: list[Callable[[], tuple[str | bytes, str]]] = [
        lambda: ("/country " + rng.choice([_unknown_country(rng), "ZZZZ", "12", "K", "XX", "UK", "\U0001f1f0\U0001f1ea", "k e"]), "error"),
        lambda: ("/role " + rng.choice(unknown_roles), "error"),
        lambda: (b"I feel " + rng.choice([b"\xff", b"\xc3(", b"\xed\xa0\x80", b"\x80\x80"]) + b" today", "error"),
        lambda: ("x" * rng.randrange(16_001, 40_000), "error"),
        lambda: ("/plan edit " + rng.choice(["0", "8", "\u00b2", "-1", "99999999999999999999", "x", "1.5", "\u0660"]), "info"),
        lambda: ("/" + "".join(rng.choices(string.ascii_lowercase + "/!?", k=rng.randrange(0, 8))) + "q", "unknown"),
        lambda: ("".join(rng.choices(INVISIBLE + "\x01\x02\x1b\x7f \t", k=rng.randrange(1, 12))), "skip"),
        lambda: (rng.choice(MUNDANE) + rng.choice(["", "\r"]), "turn"),
        lambda: (rng.choice(["/why", "/resources", "/help", "/plan show", "/role"]), "info"),
    ]
    lines = [families[i % len(families)]() for i in range(90)]
    rng.shuffle(lines)
    return [(text if isinstance(text, bytes) else text.encode(), _as_typed(text, kind)) for text, kind in lines]


def _as_typed(text: str | bytes, kind: str) -> str:
    """Only a line that is exactly a command is one; any other line that starts with a slash is a message."""
    if isinstance(text, bytes) or kind not in ("error", "unknown", "info") or not text.startswith("/"):
        return kind
    return kind if command_of(text) is not None and kind != "unknown" else "turn"


def test_fuzz_chat(script: str, home: Path) -> None:
    lines = chat_lines(random.Random(SEED))
    talk = b"".join(raw + b"\n" for raw, _ in lines) + b"/country KE\n/resources\n/end\n"
    env = {"TYPINGCURE_PASSPHRASE": "a passphrase for the fuzz"}
    done = run_cli("chat", "--backend", script, stdin=talk, env=env, timeout=120)
    out, err = done.stdout.decode(), done.stderr.decode()
    assert done.returncode == 0 and "Traceback" not in out + err and "unexpected error" not in out + err, err
    said = [line for line in out.splitlines() if line.startswith("typingcure: ")]
    assert len(said) == sum(1 for _, kind in lines if kind == "error"), said
    assert out.count("Unknown command /") == 0  # a line that is not exactly a command is a message
    assert "Country set to KE." in out and "1199" in out  # the session went on to the end
    exported = run_cli("export", "--format", "json", env=env)
    assert exported.returncode == 0, exported.stderr
    (conversation,) = json.loads(exported.stdout)["conversations"]
    assert len(conversation["turns"]) == sum(1 for _, kind in lines if kind == "turn")  # each accepted turn, whole; no others
    assert all(turn["reply"] and turn["user_text"] for turn in conversation["turns"])
    assert not [p.name for p in home.rglob("*") if p.suffix in (".tmp", ".part")]


def bad_settings(tmp_path: Path) -> list[tuple[tuple[str, ...], dict[str, str], str | None]]:
    """(arguments, variables, config file text): each must stop at start with exit 2."""
    env_values = {
        "TIMEOUT": ["inf", "-inf", "nan", "-1", "0", "abc", "1e999", "99999"],
        "TEMPERATURE": ["nan", "inf", "-0.5", "3", "warm"],
        "REPLY_SECONDS": ["inf", "0", "-1", "nan", "601"],
        "MAX_TOKENS": ["0", "-1", "lots", "1.5", "5000", "9" * 30],
        "MAX_MESSAGE_CHARS": ["5", "many"],
        "HISTORY": ["maybe", "ON", "1"],
        "CAPABLE": ["perhaps", "2"],
        "COUNTRY": ["ZZZ", "ZZ", "XX", "UK", "12", "K", "Narnia", "\U0001f1f0\U0001f1ea"],
        "LANGUAGE": ["!!", "a", "123", "x" * 20],
        "ROLE": ["guru", "../listener"],
        "BACKEND": ["nope:x", "openai:bad", ":", "scripted:" + str(tmp_path / "missing.json")],
        "ASSESSOR_MODEL": ["nope"],
    }
    cases: list[tuple[tuple[str, ...], dict[str, str], str | None]] = [
        (("reply",) if name == "BACKEND" else ("reply", "--backend", "SCRIPT"), {f"TYPINGCURE_{name}": value}, None)
        for name, values in env_values.items() for value in values]
    files = ["backend = [unclosed", "nonsense = 1", "timeout = inf", "temperature = nan", 'country = "ZZ"', 'max_tokens = "many"',
             "[table]\nx = 1", 'history = "sometimes"']
    cases += [(("reply", "--backend", "SCRIPT"), {}, text) for text in files]
    cases += [(("reply", "--backend", "SCRIPT", "--country", c), {}, None) for c in ("ZZ", "ZZZZ", "1", "uk")]
    cases += [(("chat", "--backend", "SCRIPT", "--country", "ZZZZ"), {}, None), (("chat", "--backend", "SCRIPT", "--language", "!!"), {}, None),
              (("chat", "--backend", "SCRIPT", "--role", "guru"), {}, None), (("reply", "--backend", "nope:x"), {}, None),
              (("reply", "--backend", "SCRIPT", "--role", "guru"), {}, None)]
    return cases


def test_fuzz_settings(script: str, tmp_path: Path) -> None:
    cases = bad_settings(tmp_path)
    for number, (args, env, config) in enumerate(cases):
        home = tmp_path / f"home{number}"
        if config is not None:
            home.mkdir()
            (home / "config.toml").write_bytes(config.encode())
        done = call(*(script if a == "SCRIPT" else a for a in args), stdin="a long day",
                    env={"TYPINGCURE_HOME": str(home), **env})
        assert done.returncode == 2, (args, env, config, done.stderr)
        one_clear_line(done.stderr)
        nothing_in(home, but=("config.toml",))
    binary = tmp_path / "binary"
    binary.mkdir()
    (binary / "config.toml").write_bytes(b"\xff\xfe backend")
    (tmp_path / "folder" / "config.toml").mkdir(parents=True)
    for home in (binary, tmp_path / "folder"):
        assert "config file" in bad(call("reply", "--backend", script, stdin="hi", env={"TYPINGCURE_HOME": str(home)}))


def test_the_fuzz_tries_at_least_300_bad_inputs(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    tried = (len(bad_requests(rng)) + sum(1 for _, want in assess_lines(rng) if want and want[0] == "error")
             + sum(1 for _, kind in chat_lines(rng) if kind != "turn") + len(bad_settings(tmp_path)) + len(serve_cases(1)))
    assert tried >= 300, tried


def test_the_fuzz_is_deterministic(tmp_path: Path) -> None:
    assert bad_requests(random.Random(SEED)) == bad_requests(random.Random(SEED))
    assert assess_lines(random.Random(SEED))[:50] == assess_lines(random.Random(SEED))[:50]
