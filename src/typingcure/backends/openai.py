"""Any OpenAI-compatible chat server: Ollama, vLLM, llama.cpp's server, LM Studio, hosted APIs.

Spec: `openai:MODEL@URL`, e.g. `openai:llama3.2@http://127.0.0.1:11434/v1`. The key, when the
server wants one, comes from TYPINGCURE_API_KEY or OPENAI_API_KEY. Replies stream over
Server-Sent Events. Connection failures, 429 and 5xx answers are retried a bounded number of
times, and only before any text has been yielded (a half-shown reply is never repeated).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator, Sequence

import httpx

from ..errors import BackendError, ConfigError
from ..types import Message
from . import GenerateOptions

RETRIABLE = {429, 500, 502, 503, 504}


def parse_target(target: str | None) -> tuple[str, str]:
    """`"MODEL@URL"` -> `(model, url)`; the URL is split at the last '@' so model names may hold '@'."""
    model, sep, url = (target or "").rpartition("@")
    if not sep or not model or not url.startswith(("http://", "https://")):
        raise ConfigError(f"openai backend spec must be 'openai:MODEL@URL' with an http(s) URL, not 'openai:{target or ''}'")
    return model, url.rstrip("/")


class OpenAIBackend:
    remote = True
    languages: frozenset[str] | None = None
    capable = False  # unknown: the person's setting (capable = true) says otherwise

    def __init__(
        self,
        model: str,
        base_url: str,
        *,
        api_key: str | None = None,
        timeout: float = 60.0,
        retries: int = 2,
        backoff: float = 0.5,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.spec = f"openai:{model}@{base_url}"
        self.model = model
        self.base_url = base_url
        self.retries = retries
        self.backoff = backoff
        key = api_key or os.environ.get("TYPINGCURE_API_KEY") or os.environ.get("OPENAI_API_KEY")
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        # Loopback servers are never reached through a proxy taken from the environment.
        self._client = httpx.Client(
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            transport=transport,
            trust_env=False,
        )

    def prepare(self) -> None:
        """Nothing to load before the first message."""

    def generate(self, messages: Sequence[Message], options: GenerateOptions) -> Iterator[str]:
        body = {
            "model": self.model,
            "messages": [m.as_dict() for m in messages],
            "max_tokens": options.max_tokens,
            "temperature": options.temperature,
            "stream": True,
        }
        if options.stop:
            body["stop"] = list(options.stop)
        url = f"{self.base_url}/chat/completions"
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                with self._client.stream("POST", url, json=body) as response:
                    if response.status_code in RETRIABLE and not last:
                        response.read()
                        time.sleep(self.backoff * (2**attempt))
                        continue
                    if response.status_code >= 400:
                        raise BackendError(self._http_error(response))
                    yield from self._read_stream(response)
                    return
            except httpx.TimeoutException:
                raise BackendError(f"the model server at {self.base_url} did not answer in time") from None
            except httpx.TransportError as exc:
                if not last:
                    time.sleep(self.backoff * (2**attempt))
                    continue
                raise BackendError(f"cannot reach the model server at {self.base_url} ({_reason(exc)}); is it running?") from None

    def _http_error(self, response: httpx.Response) -> str:
        response.read()
        detail = response.text.strip().replace("\n", " ")
        try:
            payload = response.json()
            err = payload.get("error", payload)
            detail = err.get("message", detail) if isinstance(err, dict) else str(err)
        except (ValueError, AttributeError):
            pass
        return f"the model server at {self.base_url} answered {response.status_code}: {detail[:200]}"

    def _read_stream(self, response: httpx.Response) -> Iterator[str]:
        if "text/event-stream" not in response.headers.get("content-type", ""):
            # Some servers ignore stream=true and answer with one JSON object.
            response.read()
            yield _content_of(response.json(), self.base_url, key="message")
            return
        for line in response.iter_lines():
            if not line.startswith("data:"):
                continue
            data = line[5:].strip()
            if data == "[DONE]":
                return
            try:
                chunk = json.loads(data)
            except json.JSONDecodeError:
                raise BackendError(f"the model server at {self.base_url} sent malformed data") from None
            text = _content_of(chunk, self.base_url, key="delta")
            if text:
                yield text


def _content_of(payload: object, base_url: str, *, key: str) -> str:
    if isinstance(payload, dict) and "error" in payload:
        err = payload["error"]
        message = err.get("message", err) if isinstance(err, dict) else err
        raise BackendError(f"the model server at {base_url} reported an error: {message}")
    try:
        choices = payload["choices"]  # type: ignore[index]
        if not choices:
            return ""
        return choices[0][key].get("content") or ""
    except (KeyError, IndexError, TypeError, AttributeError):
        raise BackendError(f"the model server at {base_url} answered in an unexpected shape") from None


def _reason(exc: httpx.TransportError) -> str:
    text = str(exc) or type(exc).__name__
    if "refused" in text.lower():
        return "connection refused"
    return text[:120]
