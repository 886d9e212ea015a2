// typingcure: stream replies as they are checked. The page works without this file; it only makes
// sending and receiving smoother. No third-party code, no inline script (the CSP forbids it).
(function () {
  "use strict";
  // A reminder about time can be dismissed: it goes from the page (it was never part of the reply).
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-dismiss]");
    if (button && button.parentNode) button.parentNode.remove();
  });
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
    body.setAttribute("dir", "auto");  // a message in another script reads in its own direction
    body.textContent = text || "";
    div.appendChild(label);
    div.appendChild(body);
    list.appendChild(div);
    return body;
  }
  function follow(element) {
    // keep the newest words in view, above the sticky box where people type
    var gap = form.getBoundingClientRect().top - element.getBoundingClientRect().bottom;
    if (gap < 8) window.scrollBy(0, 8 - gap);
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
    follow(waiting);
    function started() {
      if (waiting.classList.contains("typing")) { waiting.classList.remove("typing"); reply.textContent = ""; }
    }
    fetch(form.action, {method: "POST", body: data, headers: {"Accept": "application/json"}, credentials: "same-origin"})
      .then(function (r) { return r.json().then(function (j) { return {ok: r.ok, body: j}; }); })
      .then(function (res) {
        if (!res.ok) {  // not sent: it stays in the box, and can be sent again
          started(); reply.textContent = res.body.error || "Something went wrong."; button.disabled = false;
          if (res.body.next_nonce) form.querySelector("input[name=nonce]").value = res.body.next_nonce;
          return;
        }
        box.value = "";
        form.querySelector("input[name=nonce]").value = res.body.next_nonce;
        if (!res.body.stream) {  // a slash command typed here: the same as the buttons and links
          if (res.body.end) { var end = document.querySelector("form[action='/chat/end']"); if (end) end.submit(); return; }
          if (res.body.redirect) { window.location.assign(res.body.redirect); return; }
          waiting.remove();
          var shown = document.createElement("div");
          shown.innerHTML = res.body.html;  // server-rendered and escaped
          list.appendChild(shown); follow(shown); button.disabled = false; box.focus();
          return;
        }
        var stream = new EventSource(res.body.stream);
        stream.addEventListener("sentence", function (e) { started(); reply.textContent += JSON.parse(e.data); follow(waiting); });
        stream.addEventListener("done", function (e) {
          started();
          if (!reply.textContent) waiting.remove();  // a journal that stays quiet
          var extra = document.createElement("div");
          extra.innerHTML = JSON.parse(e.data);  // server-rendered and escaped
          list.appendChild(extra);
          stream.close(); button.disabled = false;
          var card = extra.querySelector("section.card");
          follow(card ? extra : waiting);
          // The reply is announced through the live region. A care card takes the focus, so the
          // numbers are where a keyboard or screen reader is; otherwise the box does, for the next message.
          if (card) { card.setAttribute("tabindex", "-1"); card.focus({preventScroll: true}); } else { box.focus({preventScroll: true}); }
        });
        stream.addEventListener("error", function () { started(); stream.close(); button.disabled = false; });
      })
      .catch(function () { started(); reply.textContent = "That did not go through; your message is still in the box."; button.disabled = false; });
  });
})();
