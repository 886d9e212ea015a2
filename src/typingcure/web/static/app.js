// typingcure: stream replies as they are checked. The page works without this file; it only makes
// sending and receiving smoother. No third-party code, no inline script (the CSP forbids it).
(function () {
  "use strict";
  var form = document.querySelector("form.say");
  if (!form || !window.fetch || !window.EventSource) return;
  var list = document.getElementById("messages");
  function bubble(kind, who, text) {
    var div = document.createElement("div");
    div.className = "msg " + kind;
    var label = document.createElement("span");
    label.className = "who";
    label.textContent = who;
    var body = document.createElement("span");
    body.className = "text";
    body.textContent = text || "";
    div.appendChild(label);
    div.appendChild(body);
    list.appendChild(div);
    return body;
  }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var box = form.querySelector("textarea");
    var button = form.querySelector("button[type=submit]");
    if (!box.value.trim() || button.disabled) return;
    button.disabled = true;
    var data = new FormData(form);
    bubble("you", form.dataset.you, box.value);
    // "typing…" from the moment the message is sent, until the first checked sentence arrives.
    var reply = bubble("bot typing", form.dataset.bot, form.dataset.typing || "…");
    var waiting = reply.parentNode;
    waiting.setAttribute("aria-live", "polite");
    function started() {
      if (waiting.classList.contains("typing")) { waiting.classList.remove("typing"); reply.textContent = ""; }
    }
    fetch(form.action, {method: "POST", body: data, headers: {"Accept": "application/json"}, credentials: "same-origin"})
      .then(function (r) { return r.json().then(function (j) { return {ok: r.ok, body: j}; }); })
      .then(function (res) {
        if (!res.ok) { started(); reply.textContent = res.body.error || "Something went wrong."; button.disabled = false; return; }
        box.value = "";
        form.querySelector("input[name=nonce]").value = res.body.next_nonce;
        var stream = new EventSource(res.body.stream);
        stream.addEventListener("sentence", function (e) { started(); reply.textContent += JSON.parse(e.data); });
        stream.addEventListener("done", function (e) {
          started();
          if (!reply.textContent) waiting.remove();  // a journal that stays quiet
          var extra = document.createElement("div");
          extra.innerHTML = JSON.parse(e.data);  // server-rendered and escaped
          list.appendChild(extra);
          stream.close(); button.disabled = false; box.focus();
        });
        stream.addEventListener("error", function () { started(); stream.close(); button.disabled = false; });
      })
      .catch(function () { started(); reply.textContent = "That did not go through; your message is still in the box."; button.disabled = false; });
  });
})();
