"""The alignment proxy: typingcure's pipeline in front of any OpenAI-compatible chatbot.

    typingcure proxy --upstream http://127.0.0.1:8080/v1 [--policy policy.yaml] [--port 8100]

    from typingcure.proxy import Proxy, Upstream, create_proxy_app, load_policy
    app = create_proxy_app(Proxy(Upstream(URL), load_policy("policy.yaml")))

A product changes one base URL; every request then goes through the same stages as a typingcure
conversation (app.py says them in order). design/proxy.md says what was chosen and why.
"""

from .app import Proxy, create_proxy_app
from .policy import ProxyPolicy, load_policy
from .upstream import Upstream

__all__ = ["Proxy", "ProxyPolicy", "Upstream", "create_proxy_app", "load_policy"]
