"""The command line: the public contract, line-by-line assess, chat through a pipe, and bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import free_port, needs_model, run_cli, write_script

CONTRACT_KEYS = {"reply", "risk", "actions", "resources", "notes"}


@pytest.fixture
def script(tmp_path: Path) -> str:
    return write_script(tmp_path / "replies.json", ["That sounds really hard. What has today been like?"] * 5)


def test_version() -> None:
    done = run_cli("--version")
    assert done.returncode == 0 and b"typingcure" in done.stdout


def test_reply_json_contract(script: str) -> None:
    request = {"messages": [{"role": "user", "content": "I feel so alone"}], "profile": {"country": "NG", "language": "en"},
               "role": "listener"}
    done = run_cli("reply", "--json", "--backend", script, stdin=json.dumps(request))
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert set(out) == CONTRACT_KEYS
    assert out["reply"].startswith("That sounds really hard.")
    assert out["risk"]["level"] in ("none", "low") and out["risk"]["categories"] == []  # loneliness: a hard time


def test_reply_json_in_crisis_gives_resources(script: str) -> None:
    request = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Hello."},
                            {"role": "user", "content": "I want to end my life"}], "profile": {"country": "FR"}}
    out = json.loads(run_cli("reply", "--json", "--backend", script, stdin=json.dumps(request)).stdout)
    assert out["risk"]["level"] == "high" and "suicide" in out["risk"]["categories"]
    assert out["resources"][0] == {"name": "3114", "phone": "3114", "sms": None, "url": "https://3114.fr", "hours": "24/7"} or \
        out["resources"][0]["phone"] == "3114"
    assert set(out["resources"][0]) == {"name", "phone", "sms", "url", "hours"}
    assert "crisis_reply" in out["actions"]


def test_plain_reply(script: str) -> None:
    done = run_cli("reply", "--backend", script, stdin="a rough day")
    assert done.returncode == 0 and done.stdout.decode().startswith("That sounds")


@pytest.mark.parametrize(
    "stdin, message",
    [
        (b"", "input is empty"),
        (b"   ", "input is empty"),
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe\x00binary", "not valid UTF-8"),
        (b"[]", "expected one JSON object"),
        (b'{"messages": []}', "messages"),
        (b'{"messages": [{"role": "robot", "content": "x"}]}', "messages.0.role"),
        (b'{"messages": [{"role": "assistant", "content": "x"}]}', "last message must be the person"),
        (b'{"messages": [{"role": "user", "content": "   "}]}', "the message is empty"),
        (json.dumps({"messages": [{"role": "user", "content": "x" * 1_000_000}]}).encode(), "too long"),
        (b'{"messages": [{"role": "user", "content": "hi"}], "profile": {"country": "Narnia"}}', "country"),
        (b'{"messages": [{"role": "user", "content": "hi"}], "role": "guru"}', "unknown role 'guru'"),
    ],
)
def test_reply_bad_input_is_one_clear_line(script: str, stdin: bytes, message: str, home: Path) -> None:
    done = run_cli("reply", "--json", "--backend", script, stdin=stdin)
    err = done.stderr.decode()
    assert done.returncode == 2, err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert done.stdout == b""
    assert not home.exists() or not any(home.rglob("*"))  # nothing recorded


def test_unknown_backend_and_unreachable_server() -> None:
    request = json.dumps({"messages": [{"role": "user", "content": "hello"}]})
    unknown = run_cli("reply", "--json", "--backend", "magic", stdin=request)
    assert unknown.returncode == 2 and b"unknown backend 'magic'" in unknown.stderr
    down = run_cli("reply", "--json", "--backend", f"openai:m@http://127.0.0.1:{free_port()}/v1", stdin=request)
    assert down.returncode == 3 and b"cannot reach the model server" in down.stderr
    assert b"Traceback" not in down.stderr


def test_debug_shows_the_traceback() -> None:
    done = run_cli("reply", "--json", "--backend", "magic", stdin=b'{"messages": [{"role": "user", "content": "x"}]}',
                   env={"TYPINGCURE_DEBUG": "1"})
    assert done.returncode != 0 and b"Traceback" in done.stderr


def test_missing_model_file_is_a_clear_error(tmp_path: Path) -> None:
    done = run_cli("reply", "--backend", f"local:{tmp_path / 'none.gguf'}", stdin="hello")
    assert done.returncode == 3 and b"model file not found" in done.stderr


def test_assess_jsonl_answers_each_line_as_it_arrives() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "typingcure", "assess", "--jsonl"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdin and proc.stdout
    proc.stdin.write(b'{"id": 1, "text": "I want to die"}\n')
    proc.stdin.flush()
    first = json.loads(proc.stdout.readline())  # answered before stdin is closed
    assert first == {"id": 1, "level": "high", "categories": ["suicide"], "score": first["score"]}
    proc.stdin.write(b'{"id": "b", "text": "what time is it?", "history": ["I lost my job"]}\n')
    proc.stdin.close()
    second = json.loads(proc.stdout.readline())
    assert second["id"] == "b" and second["level"] == "none"
    assert proc.wait(timeout=30) == 0


def test_assess_jsonl_bad_lines_get_error_lines_and_the_stream_goes_on() -> None:
    lines = b"\n".join([
        b'{"id": 1, "text": "hello"}',
        b"\xff\xfe binary",
        b"{broken",
        b'{"id": 4}',
        b'{"id": 5, "text": "x", "history": "not a list"}',
        b'{"id": 6, "text": ""}',
        b'{"id": 7, "text": "\xf0\x9f\x98\x80\xf0\x9f\x98\x80"}',
        b'{"id": 8, "text": "everyone would be better off without me"}',
    ]) + b"\n"
    done = run_cli("assess", "--jsonl", stdin=lines)
    out = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert len(out) == 8
    assert [("error" in o) for o in out] == [False, True, True, True, True, False, False, False]
    assert out[5]["level"] == "none" and out[6]["level"] == "none" and out[7]["level"] == "moderate"
    assert out[3]["id"] is None or out[3]["id"] == 4
    assert done.returncode == 2 and b"4 lines could" in done.stderr


def test_assess_jsonl_handles_ten_thousand_lines() -> None:
    texts = ["I had a nice walk", "this exam is killing me", "I want to kill myself", "I'd never hurt myself"]
    lines = "".join(json.dumps({"id": i, "text": texts[i % 4]}) + "\n" for i in range(10_000))
    done = run_cli("assess", "--jsonl", stdin=lines)
    assert done.returncode == 0
    out = done.stdout.decode().splitlines()
    assert len(out) == 10_000
    levels = [json.loads(line)["level"] for line in out[:4]]
    assert levels[:3] == ["none", "none", "high"] and levels[3] in ("none", "low")
    assert json.loads(out[-1])["id"] == 9_999


def test_chat_through_a_pipe(script: str) -> None:
    talk = "hello, it's been a long week\n/why\n/role journal\nI walked by the sea today\n/resources\n/country KE\n/resources\n/end\n"
    done = run_cli("chat", "--backend", script, stdin=talk)
    out = done.stdout.decode()
    assert done.returncode == 0, done.stderr
    assert "I'm here to listen" in out
    assert "That sounds really hard." in out
    assert "assess" in out and "decide" in out and "record" in out  # /why
    assert "Journal mode" in out and "(saved quietly)" in out
    assert "findahelpline.com" in out and "1199" in out
    assert "stayed on this computer" in out


def test_chat_crisis_shows_the_card(script: str) -> None:
    done = run_cli("chat", "--backend", script, "--country", "GB", stdin="I want to kill myself\n")
    out = done.stdout.decode()
    assert "116 123" in out and "If you need someone now" in out and "999 or 112" in out


def test_the_plan_follows_the_persons_language(script: str) -> None:
    done = run_cli("chat", "--backend", script, "--country", "MX", stdin="Hoy fue un día muy pesado en el trabajo\n/plan\n")
    assert done.returncode == 0 and "plan de seguridad" in done.stdout.decode().lower()


def test_a_message_that_starts_with_a_slash_is_still_read_for_risk(script: str) -> None:
    done = run_cli("chat", "--backend", script, "--country", "GB", stdin="/end it all, I want to die tonight\n/i want to kill myself\n")
    out = done.stdout.decode()
    assert done.returncode == 0 and "Unknown command" not in out and out.count("116 123") >= 2


def test_ending_after_a_hard_session_repeats_the_local_line(script: str) -> None:
    done = run_cli("chat", "--backend", script, "--country", "GB", stdin="I want to kill myself\n/end\n")
    out = done.stdout.decode()
    close = out[out.rindex("worried me"):]
    assert "116 123" in close and "Take care of yourself" in close
    calm = run_cli("chat", "--backend", script, "--country", "GB", stdin="long day at work\n/end\n").stdout.decode()
    assert "worried me" not in calm


def test_chat_with_a_broken_backend_exits_non_zero() -> None:
    done = run_cli("chat", "--backend", f"openai:m@http://127.0.0.1:{free_port()}/v1", stdin="hello\n")
    assert done.returncode == 3 and b"cannot reach" in done.stdout + done.stderr


@needs_model
def test_chat_with_the_bundled_model() -> None:
    done = run_cli("chat", stdin="I had a long day at work\n/end\n")
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.decode().splitlines() if line.strip()]
    assert len(lines) >= 4  # intro, help, a real reply, goodbye


def test_chat_in_a_terminal_uses_panels(script: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A real pseudo-terminal: the care card is drawn as a panel, the prompt is shown."""
    import os

    monkeypatch.setenv("TYPINGCURE_HISTORY", "off")  # no passphrase prompt in this test
    import pty
    import select

    pid, fd = pty.fork()
    if pid == 0:  # the child: typingcure chat on the terminal
        os.execvp(sys.executable, [sys.executable, "-m", "typingcure", "chat", "--backend", script, "--country", "GB"])
    out = b""

    def read_until(marker: bytes, timeout: float = 30) -> None:
        nonlocal out
        import time as _t

        deadline = _t.monotonic() + timeout
        while marker not in out and _t.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                try:
                    out += os.read(fd, 4096)
                except OSError:
                    break

    read_until(b"you \xe2\x80\xba")
    os.write(fd, b"I want to kill myself\n")
    read_until(b"If you need someone now")
    read_until(b"you \xe2\x80\xba", timeout=10)
    os.write(fd, b"/end\n")
    read_until(b"Take care")
    os.waitpid(pid, 0)
    text = out.decode(errors="replace")
    assert "If you need someone now" in text and "116 123" in text
    assert "╭" in text or "┌" in text  # a Rich panel, not plain text


def test_a_terminal_reply_wraps_between_words_by_display_width(capsys: pytest.CaptureFixture[str]) -> None:
    from typingcure.cli.chat import Wrapped, _cells

    wrapped = Wrapped(40)
    wrapped.write("I'm not a person, but I am here to listen to whatever is on your mind tonight. ")
    wrapped.write("오늘 하루가 정말 길었네요. 무엇이 제일 힘들었는지 천천히 이야기해 주세요.")
    lines = ("typingcure › " + capsys.readouterr().out).split("\n")
    assert all(_cells(line) <= 40 for line in lines), lines
    words = "I'm not a person, but I am here to listen to whatever is on your mind tonight.".split()
    assert [w for line in lines for w in line.replace("typingcure › ", "").split()][:len(words)] == words  # no word cut
    assert any("오늘" in line for line in lines) and _cells("오늘") == 4
