"""Care over time (design/care.md): reminders about time on a simulated clock, the person's own
outcomes and check-ins (chart and CSV), the end-of-session summary; in the chat, the web app and the
encrypted store (export, wipe)."""

from __future__ import annotations

import csv
import html
import io
import json
import re
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from typingcure.backends.scripted import ScriptedBackend
from typingcure.care import care_line
from typingcure.care.outcomes import Outcomes, chart_svg, csv_text, score_of
from typingcure.care.summary import summarise
from typingcure.care.usage import IDLE, TimeSettings, Usage, nudge, time_command
from typingcure.config import Settings
from typingcure.pipeline import Session, build_parts, run_turn
from typingcure.store import DB_NAME, SQLiteStore
from typingcure.types import Profile
from typingcure.web.app import create_app

from .conftest import run_cli, write_script

T0 = datetime(2026, 12, 4, 19, 0)  # a Friday evening


def chatting(usage: Usage, start: datetime, minutes: int, level: str = "none", step: int = 5,
             actions: tuple[str, ...] = ()) -> list[tuple[int, str]]:
    """A message every `step` minutes for `minutes`: the reminders said, with the minute they came."""
    said = []
    for m in range(0, minutes + 1, step):
        now = start + timedelta(minutes=m)
        usage.tick(now)
        line = nudge(usage, now, level, actions)
        if line:
            said.append((m, line))
    return said


# -- reminders about time, on a simulated clock -------------------------------------------------------------


def test_a_break_after_a_long_session_once_and_never_in_a_crisis_turn() -> None:
    usage = Usage()
    said = chatting(usage, T0, 120)
    assert [m for m, _ in said] == [45]  # when due, and never twice in the session
    assert "45 minutes" in said[0][1] and "/time off" in said[0][1]
    crisis = Usage()
    assert chatting(crisis, T0, 60, level="high") == []  # never in a turn about risk ...
    crisis.tick(T0 + timedelta(minutes=65))
    assert nudge(crisis, T0 + timedelta(minutes=65), "none") is not None  # ... it waits for a later one
    asked = Usage()
    assert chatting(asked, T0, 60, actions=("asked_about_suicide",)) == []


def test_a_new_session_after_a_gap_and_the_daily_totals() -> None:
    usage = Usage()
    chatting(usage, T0, 30)
    chatting(usage, T0 + timedelta(minutes=30) + IDLE, 20)
    day = usage.today(T0)
    assert day.sessions == 2 and day.seconds == 50 * 60
    assert usage.session_minutes(T0 + timedelta(minutes=80) + IDLE) == 50


def test_late_night_once_a_night_and_many_sessions_once_a_day() -> None:
    usage = Usage(settings=TimeSettings(break_after=0))
    said = chatting(usage, datetime(2026, 12, 5, 1, 10), 40)  # 1:10 a.m.
    assert len(said) == 1 and "late" in said[0][1]
    assert chatting(usage, datetime(2026, 12, 5, 3, 0), 10) == []  # the same night
    assert len(chatting(usage, datetime(2026, 12, 6, 0, 30), 5)) == 1  # the next night
    many = Usage(settings=TimeSettings(break_after=0, late_night=False, many_sessions=3))
    said = []
    for k in range(5):
        said += chatting(many, T0 + timedelta(hours=k), 5)
    assert len(said) == 1 and "3 times today" in said[0][1]


def test_the_persons_own_reminders_in_their_words_and_turned_off() -> None:
    usage = Usage()
    time_command(usage, "remind 20 call Mum before it's late", T0)
    time_command(usage, "daily 60 equal time with friends", T0)
    said = chatting(usage, T0, 70)
    assert [m for m, _ in said] == [20, 45, 60]
    assert "call Mum before it's late" in said[0][1] and "equal time with friends" in said[2][1]
    off = Usage()
    time_command(off, "off", T0)
    assert chatting(off, datetime(2026, 12, 5, 1, 0), 120) == []
    for bad in ("break 99999", "break soon", "late maybe", "remind", "nonsense"):
        with pytest.raises(ValueError):
            time_command(Usage(), bad, T0)
    with pytest.raises(ValueError):
        TimeSettings(remind_why="x" * 121)
    assert TimeSettings(remind_why="call\u202eMum\x00").remind_why == "call Mum"


def test_reminders_in_the_persons_language() -> None:
    from typingcure import languages

    for code in languages.with_file("care"):
        line = care_line("nudge_break", code, minutes=45)
        assert "45" in line and "{" not in line, code


# -- the person's own outcomes ------------------------------------------------------------------------------


def outcomes() -> Outcomes:
    o = Outcomes(distress=["I stay in bed all day", "I snap at my kids"], better=["I see a friend once a week"],
                 goals=["finish my course"], cadence="weekly")
    for week, scores in enumerate([(8, 6, 1, 2), (7, 6, 2, 3), (5, 4, 4, 5)]):
        o.record(dict(zip([w for _, w in o.items], scores)), T0 + timedelta(weeks=week))
    return o


def test_outcomes_are_their_words_validated() -> None:
    o = Outcomes(distress="  tired   all the time ", better=["a", "A", "b"])
    assert o.distress == ["tired all the time"] and o.better == ["a", "b"]
    for bad in ({"distress": ["a", "b", "c", "d"]}, {"better": ["x" * 121]}, {"cadence": "hourly"}, {"mood": ["x"]},
                {"distress": [3]}):
        with pytest.raises(ValueError):
            Outcomes(**bad)  # type: ignore[arg-type]
    edited = Outcomes().edit("distress", "I can't get up").edit("goal", "walk daily").edit("cadence", "DAILY")
    assert edited.distress == ["I can't get up"] and edited.goals == ["walk daily"] and edited.cadence == "daily"
    assert edited.edit("clear", "goals").goals == [] and edited.edit("clear", "").items == []
    with pytest.raises(ValueError):
        edited.edit("mood", "x")
    assert [score_of(s) for s in ("7", " 10 ", "٧", "７", "11", "-1", "seven", "")] == [7, 10, 7, 7, None, None, None, None]


def test_check_ins_at_the_cadence_they_chose_never_nagging() -> None:
    o = Outcomes(distress=["tired"], cadence="daily")
    assert o.due(T0)
    o.offer(T0)
    assert not o.due(T0 + timedelta(hours=2))  # offered once in its period
    assert o.due(T0 + timedelta(days=1))
    o.skip(T0 + timedelta(days=1))
    assert not o.due(T0 + timedelta(days=1, hours=3))  # skipped: not again that day
    weekly = Outcomes(distress=["tired"], cadence="weekly")
    weekly.record({"tired": 4}, T0)
    assert not weekly.due(T0 + timedelta(days=1)) and weekly.due(T0 + timedelta(days=7))
    assert not Outcomes(cadence="daily").due(T0) and not Outcomes(distress=["x"]).due(T0)  # nothing to ask, or off


def test_the_chart_is_valid_svg_with_their_words_and_no_script() -> None:
    o = outcomes()
    o.distress = [*o.distress[:1], "<script>alert(1)</script> & more"]
    o.record({"<script>alert(1)</script> & more": 3}, T0 + timedelta(weeks=4))
    svg = chart_svg(o)
    root = ET.fromstring(svg)  # well-formed XML
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert "<script" not in svg and "&lt;script&gt;" in svg and "http" not in svg.replace("http://www.w3.org/2000/svg", "")
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "I stay in bed all day" in texts and "2026-12-04" in texts
    assert len(list(root.iter("{http://www.w3.org/2000/svg}polyline"))) >= 3
    empty = ET.fromstring(chart_svg(Outcomes(), "fr"))
    assert any(t.text == care_line("chart_empty", "fr") for t in empty.iter("{http://www.w3.org/2000/svg}text"))


def test_the_csv_has_one_row_per_answer_and_runs_no_formula() -> None:
    o = outcomes()
    o.goals = ["=HYPERLINK(\"http://x\")"]
    o.record({"=HYPERLINK(\"http://x\")": 2}, T0 + timedelta(weeks=5))
    o.skip(T0 + timedelta(weeks=6))
    rows = list(csv.reader(io.StringIO(csv_text(o))))
    assert rows[0] == ["date", "kind", "item", "score"] and len(rows) == 1 + 12 + 1 + 1
    assert rows[1][1:] == ["distress", "I stay in bed all day", "8"]
    assert any(r[2].startswith("'=") for r in rows) and rows[-1][3] == "skipped"


# -- the summary ---------------------------------------------------------------------------------------------


def test_the_summary_quotes_their_words_never_a_risky_message() -> None:
    parts = build_parts(ScriptedBackend(["That sounds hard."], cycle=True), Settings())
    session = Session(profile=Profile(country="GB", coping=["my sister"]))
    for text in ("my exam is on monday and i have not started revising at all",
                 "honestly i want to die, everything is pointless",
                 "no, I'm safe. just tired of everything going wrong at work this month"):
        run_turn(session, text, parts)
    summary = summarise(session, "en", takeaways=["your card from Grounding"])
    said = "\n".join(summary.lines())
    assert "my exam is on monday" in said and "want to die" not in said
    assert summary.hard and care_line("summary_hard") in said
    assert "your card from Grounding" in said and "my sister" in said
    assert summarise(Session(), "fr").lines() == [care_line("summary_none", "fr")]


# -- in the chat ----------------------------------------------------------------------------------------------


def test_the_chat_commands_and_a_check_in_read_for_risk(tmp_path: Path) -> None:
    script = write_script(tmp_path / "r.json", {"replies": ["That sounds like a lot."], "cycle": True})  # type: ignore[arg-type]
    lines = ["/outcomes distress I stay in bed all day", "/outcomes better I see a friend", "/outcomes cadence daily",
             "/checkin", "7", "seven", "3", "/outcomes", "/time", "/time remind 20 call my sister",
             "/checkin", "i want to kill myself", "/summary"]
    done = run_cli("chat", "--backend", script, "--country", "GB", stdin="\n".join(lines) + "\n",
                   env={"TYPINGCURE_HISTORY": "off"})
    out = done.stdout.decode()
    assert done.returncode == 0, done.stderr.decode()
    assert '"I stay in bed all day": lately' in out and care_line("checkin_not_number") in out
    assert care_line("checkin_saved") in out and "I stay in bed all day 7, I see a friend 3" in out
    assert "Break reminder: after 45 minutes" in out and "Saved." in out
    # words instead of a number that read as risk are heard, with the services
    assert "Samaritans" in out or "999" in out or "116 123" in out
    assert "kill myself" not in out.split("This session")[-1]


def test_the_late_night_reminder_in_a_piped_chat(tmp_path: Path) -> None:
    script = write_script(tmp_path / "r.json", {"replies": ["That sounds like a lot."], "cycle": True})  # type: ignore[arg-type]
    done = run_cli("chat", "--backend", script, stdin="cannot sleep again\nstill awake\nmy head is busy\n",
                   env={"TYPINGCURE_HISTORY": "off", "TYPINGCURE_NOW": "2026-12-05T02:30:00"})
    out = done.stdout.decode()
    assert out.count(care_line("nudge_late")) == 1, out


# -- kept, encrypted; exported; wiped -----------------------------------------------------------------------------


def test_kept_encrypted_exported_and_wiped(tmp_path: Path, home: Path) -> None:
    store = SQLiteStore.open(home, "correct horse battery")
    o = outcomes()
    o.keep(store)
    usage = Usage()
    chatting(usage, T0, 30)
    usage.keep(store)
    exported = store.export()
    store.close()
    raw = (home / DB_NAME).read_bytes()
    assert b"I stay in bed all day" not in raw and b"finish my course" not in raw
    assert exported["outcomes"]["distress"] == ["I stay in bed all day", "I snap at my kids"]
    assert exported["usage"]["days"]["2026-12-04"]["sessions"] == 1
    from typingcure.store import to_markdown

    assert "I stay in bed all day" in to_markdown(exported)
    done = run_cli("wipe", "--yes", env={"TYPINGCURE_HOME": str(home)})
    assert done.returncode == 0, done.stderr.decode()
    assert not (home / DB_NAME).exists()


# -- the web app --------------------------------------------------------------------------------------------------


def tokens(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]


def test_the_progress_page_check_in_chart_csv_and_time(tmp_path: Path, home: Path) -> None:
    script = write_script(tmp_path / "r.json", {"replies": ["That sounds hard."], "cycle": True})  # type: ignore[arg-type]
    client = TestClient(create_app(Settings(backend=script, history="off", country="GB"), home=home),
                        base_url="http://127.0.0.1")
    page = client.get("/outcomes")
    assert page.status_code == 200 and "<svg" in page.text and "<script" not in page.text.split("</header>")[1]
    csrf = tokens(page.text)
    saved = client.post("/outcomes", data={"csrf": csrf, "distress": ["I stay in bed", ""], "better": ["I walk"],
                                           "goals": [""], "cadence": "weekly"})
    assert saved.status_code == 200 and 'value="I stay in bed"' in saved.text
    assert client.post("/outcomes/checkin", data={"csrf": csrf, "score0": "11"}).status_code == 400
    assert client.post("/outcomes/checkin", data={"csrf": csrf, "score0": "6", "score1": "2"}).status_code == 200
    svg = client.get("/outcomes/chart.svg")
    assert svg.headers["content-type"].startswith("image/svg+xml") and "I stay in bed" in svg.text
    ET.fromstring(svg.text)
    rows = list(csv.reader(io.StringIO(client.get("/outcomes/checkins.csv").text)))
    assert [r[2:] for r in rows[1:]] == [["I stay in bed", "6"], ["I walk", "2"]]
    worried = client.post("/outcomes", data={"csrf": csrf, "distress": ["wanting to kill myself"], "cadence": "off"})
    assert "worried" in worried.text and ("Samaritans" in worried.text or "116 123" in worried.text)
    timed = client.post("/outcomes/time", data={"csrf": csrf, "break_after": "20", "many_sessions": "0",
                                                "remind_after": "0", "daily_after": "0"})
    assert timed.status_code == 200 and 'name="break_after" type="number" min="0" max="1440" value="20"' in timed.text
    assert client.post("/outcomes/time", data={"csrf": csrf, "break_after": "99999"}).status_code == 400
    assert client.post("/outcomes", data={"distress": ["x"]}).status_code in (400, 403)  # no csrf


def test_a_reminder_under_a_reply_and_the_summary_after_the_end(tmp_path: Path, home: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TYPINGCURE_NOW", "2026-12-05T01:30:00")
    script = write_script(tmp_path / "r.json", {"replies": ["That sounds hard."], "cycle": True})  # type: ignore[arg-type]
    client = TestClient(create_app(Settings(backend=script, history="off", country="GB"), home=home),
                        base_url="http://127.0.0.1")

    def send(text: str) -> str:
        page = client.get("/").text
        nonce = re.search(r'name="nonce" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        client.post("/chat/send", data={"csrf": tokens(page), "nonce": nonce, "text": text})
        return client.get("/").text

    send("my exam is on monday and i have not started revising")
    summary = client.get("/summary")
    assert "my exam is on monday" in summary.text
    ended = client.post("/chat/end", data={"csrf": tokens(client.get("/").text)})
    assert 'href="/summary"' in ended.text
    assert "my exam is on monday" in client.get("/summary").text


def test_the_web_stream_carries_the_reminder(tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TYPINGCURE_NOW", "2026-12-05T01:30:00")
    script = write_script(tmp_path / "r.json", {"replies": ["That sounds hard."], "cycle": True})  # type: ignore[arg-type]
    client = TestClient(create_app(Settings(backend=script, history="off", country="GB"), home=home),
                        base_url="http://127.0.0.1")
    seen = []
    for text in ("cannot sleep again", "still awake, thinking about work"):
        page = client.get("/").text
        nonce = re.search(r'name="nonce" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        sent = client.post("/chat/send", data={"csrf": tokens(page), "nonce": nonce, "text": text},
                           headers={"Accept": "application/json"}).json()
        events = client.get(sent["stream"]).text
        done = [json.loads(line[6:]) for line in events.splitlines() if line.startswith("data: ")][-1]
        seen.append(html.escape(care_line("nudge_late")) in done and "data-dismiss" in done)
    assert seen == [True, False]


def test_outcomes_from_the_command_line_plot_and_csv(tmp_path: Path, home: Path) -> None:
    env = {"TYPINGCURE_HOME": str(home), "TYPINGCURE_PASSPHRASE": "correct horse battery"}
    SQLiteStore.open(home, "correct horse battery").close()
    done = run_cli("outcomes", "set", "--distress", "I stay in bed", "--better", "I see a friend", "--cadence", "weekly", env=env)
    assert done.returncode == 0, done.stderr.decode()
    for scores in (("8", "2"), ("6", "4")):
        assert run_cli("outcomes", "checkin", *scores, env=env).returncode == 0
    bad = run_cli("outcomes", "checkin", "7", env=env)
    assert bad.returncode != 0 and b"2 numbers" in bad.stderr
    assert run_cli("outcomes", "checkin", "--skip", env=env).returncode == 0
    shown = run_cli("outcomes", env=env).stdout.decode()
    assert "I stay in bed" in shown and "skipped" in shown
    svg, table = tmp_path / "chart.svg", tmp_path / "checkins.csv"
    done = run_cli("outcomes", "--plot", str(svg), "--csv", str(table), env=env)
    assert done.returncode == 0, done.stderr.decode()
    root = ET.fromstring(svg.read_text("utf-8"))
    assert len(list(root.iter("{http://www.w3.org/2000/svg}polyline"))) == 2
    assert (svg.stat().st_mode & 0o077) == 0  # written private
    assert list(csv.reader(io.StringIO(table.read_text("utf-8"))))[1][1:] == ["distress", "I stay in bed", "8"]
    nowhere = run_cli("outcomes", "--plot", str(tmp_path / "no" / "dir" / "x.svg"), env=env)
    assert nowhere.returncode != 0 and b"nothing was written" in nowhere.stderr
    worried = run_cli("outcomes", "set", "--distress", "wanting to kill myself", env=env)
    assert worried.returncode == 0 and b"reach someone now" in worried.stdout
    assert b"kill myself" not in (home / DB_NAME).read_bytes()


def test_walk_through_findings_stay_fixed(tmp_path: Path, home: Path) -> None:
    """What a person playing through the features found (2026-12-04): risky words are never kept as a
    reminder, `/time off` keeps the person's own reminders, commands take capitals and slashes in the
    words, a summary claims no plan that is not there and reads Japanese, odd digits are refused."""
    from typingcure.commands import command_of
    from typingcure.care.summary import _words

    usage = Usage()
    time_command(usage, "remind 20 call Mum", T0)
    time_command(usage, "off", T0)
    assert usage.settings.remind_after == 20 and usage.settings.break_after == 0
    time_command(usage, "on", T0)
    assert usage.settings.break_after == 45 and usage.settings.remind_why == "call Mum"
    for bad in ("break ²", "break " + "9" * 5000, "remind"):
        with pytest.raises(ValueError):
            time_command(Usage(), bad, T0)
    assert command_of("/checkin Skip") == ("checkin", "Skip") and command_of("/outcomes Better I call my mum/dad")
    assert command_of("/time Remind 20 call Mum at 8/9pm") == ("time", "Remind 20 call Mum at 8/9pm")
    assert _words("今日はとても疲れました。仕事が多すぎます。") >= 3
    script = write_script(tmp_path / "r.json", {"replies": ["That sounds like a lot."], "cycle": True})  # type: ignore[arg-type]
    done = run_cli("chat", "--backend", script, "--country", "GB", env={"TYPINGCURE_HISTORY": "off", "TYPINGCURE_NOW": "2026-12-04T14:05:00"},
                   stdin="/time remind 1 I want to end it all\nwork was long today and my boss shouted at me again\n/time\n/summary\n")
    out = done.stdout.decode()
    assert "Your reminder: off" in out and "end it all\"" not in out
    assert "safety plan" not in out.split("This session")[-1]
    client = TestClient(create_app(Settings(backend=script, history="off", country="GB"), home=home), base_url="http://127.0.0.1")
    csrf = tokens(client.get("/outcomes").text)
    client.post("/outcomes", data={"csrf": csrf, "distress": ["tired"], "cadence": "off"})
    assert client.post("/outcomes/checkin", data={"csrf": csrf, "score0": "²"}).status_code == 400
    assert client.post("/outcomes/checkin", data={"csrf": csrf, "score0": "9" * 5000}).status_code == 400
    worried = client.post("/outcomes/time", data={"csrf": csrf, "break_after": "45", "remind_after": "20",
                                                  "remind_why": "I want to end it all"})
    assert "worried" in worried.text and 'value="I want to end it all"' not in worried.text
