"""A scripted OpenAI-compatible server: an upstream whose answers are written in advance, for
trying the proxy, for its tests and for its benchmark (a misbehaving or a very fast chatbot).

    python -m typingcure.proxy.scripted --port 8200 replies.yaml
    app = scripted_app(["I'm human, and I love you.", {"tool_calls": [...]}], cycle=True)

A reply is a text, or an object: `{"content": str, "tool_calls": [...]}`, `{"error": str,
"status": int}` (that call fails), `{"stall": seconds}` (sends headers, then nothing for that long),
`{"garbage": true}` (a stream that is not JSON). Streamed a word at a time (`delay` seconds before
each word). `GET /calls` gives the request bodies received, newest last (the last 200), with the
time each arrived (`time.time()`), so a test can see exactly what the upstream was sent.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import time
from collections import deque
from collections.abc import AsyncIterator, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

Reply = str | dict[str, Any]


def scripted_app(replies: Sequence[Reply], *, cycle: bool = True, delay: float = 0.0, model: str = "scripted") -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    queue: deque[Reply] = deque(replies)
    calls: deque[dict[str, Any]] = deque(maxlen=200)

    def next_reply() -> Reply:
        if not queue:
            if not cycle or not replies:
                return {"error": "the scripted upstream has no replies left", "status": 500}
            queue.extend(replies)
        return queue.popleft()

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": model, "object": "model", "created": 0, "owned_by": "scripted"}]}

    @app.get("/calls")
    async def seen() -> list[dict[str, Any]]:
        return list(calls)

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Response:
        body = await request.json()
        calls.append({"at": time.time(), "body": body, "authorization": request.headers.get("authorization")})
        reply = next_reply()
        if isinstance(reply, dict) and "error" in reply:
            return JSONResponse({"error": {"message": reply["error"], "type": "server_error"}},
                                status_code=int(reply.get("status", 500)))
        content = reply if isinstance(reply, str) else str(reply.get("content") or "")
        tool_calls = [] if isinstance(reply, str) else list(reply.get("tool_calls") or [])
        stall = 0.0 if isinstance(reply, str) else float(reply.get("stall", 0.0))
        garbage = isinstance(reply, dict) and bool(reply.get("garbage"))
        if not body.get("stream"):
            if stall:
                await asyncio.sleep(stall)
            message: dict[str, Any] = {"role": "assistant", "content": content or None}
            if tool_calls:
                message["tool_calls"] = tool_calls
            return JSONResponse({"id": "chatcmpl-scripted", "object": "chat.completion", "created": int(time.time()),
                                 "model": model, "choices": [{"index": 0, "message": message,
                                                              "finish_reason": "tool_calls" if tool_calls else "stop"}],
                                 "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})

        async def events() -> AsyncIterator[str]:
            if stall:
                await asyncio.sleep(stall)
            if garbage:
                yield "data: {not json at all\n\n"
                return
            for word in re.findall(r"\S+\s*|\s+", content):
                if delay:
                    await asyncio.sleep(delay)
                yield _event(model, {"content": word})
            for i, call in enumerate(tool_calls):
                yield _event(model, {"tool_calls": [{"index": i, **call}]})
            yield _event(model, {}, "tool_calls" if tool_calls else "stop")
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    return app


def _event(model: str, delta: dict[str, Any], finish: str | None = None) -> str:
    return "data: " + json.dumps({"id": "chatcmpl-scripted", "object": "chat.completion.chunk", "created": 0,
                                  "model": model, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}) + "\n\n"


def main(argv: list[str] | None = None) -> None:
    import argparse

    import uvicorn

    from .. import _yaml

    parser = argparse.ArgumentParser(prog="python -m typingcure.proxy.scripted")
    parser.add_argument("file", help="a JSON or YAML list of replies (or {replies: [...], cycle, delay})")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8200)
    args = parser.parse_args(argv)
    try:
        with open(args.file, encoding="utf-8") as f:
            data = _yaml.safe_load(f.read())
    except (OSError, ValueError) as exc:
        sys.exit(f"typingcure: cannot read {args.file}: {exc}")
    options = data if isinstance(data, dict) else {"replies": data}
    replies = options.get("replies")
    if not isinstance(replies, list) or not all(isinstance(r, (str, dict)) for r in replies):
        sys.exit(f"typingcure: {args.file} must hold a list of replies")
    app = scripted_app(replies, cycle=bool(options.get("cycle", True)), delay=float(options.get("delay", 0.0)))
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
