// The sandbox chat page: sends what a follower would to /sandbox/send and shows
// the bot's passive replies, plus what the platform pushed (polled every 3 s).
(function () {
  "use strict";
  var root = document.getElementById("app");
  var sendUrl = root.dataset.sendUrl;
  var messagesUrl = root.dataset.messagesUrl;
  var staffOpenid = root.dataset.staffOpenid;
  var $ = function (id) { return document.getElementById(id); };
  var log = $("log"), text = $("text"), form = $("form"), openidInput = $("openid");
  var voice = false, since = 0, logs = {}, polling = false, pollAgain = false;

  // Each browser is its own veteran, so two people trying the sandbox never share a dialog.
  function veteranOpenid() {
    var id = localStorage.getItem("sandbox-openid");
    if (!id) {
      id = "sandbox-veteran-" + Math.random().toString(16).slice(2, 8);
      localStorage.setItem("sandbox-openid", id);
    }
    return id;
  }

  function currentOpenid() { return openidInput.value.trim(); }

  function bubble(cls, tag, body) {
    var div = document.createElement("div");
    div.className = "msg " + cls;
    if (tag) {
      var t = document.createElement("span");
      t.className = "tag";
      t.textContent = tag;
      div.appendChild(t);
    }
    if (typeof body === "string") div.appendChild(document.createTextNode(body));
    else if (body) div.appendChild(body);
    log.appendChild(div);
    log.scrollTop = log.scrollHeight;
  }

  function note(message) {
    var p = document.createElement("p");
    p.className = "system";
    p.textContent = message;
    log.appendChild(p);
  }

  function showReply(reply) {
    if (!reply) { bubble("bot", "（公众号未回复）", ""); return; }
    if (reply.type === "text") { bubble("bot", "", reply.content || ""); return; }
    var lines = (reply.articles || []).map(function (a) {
      return (a.Title || "") + "\n" + (a.Description || "") + (a.Url ? "\n" + a.Url : "");
    });
    bubble("bot", reply.type + " 消息", lines.join("\n\n") || reply.content || "");
  }

  function showPushed(m) {
    if (m.kind === "template") {
      // As a phone shows a category template: its title, then each key's label and value.
      var card = document.createElement("div");
      card.className = "card";
      var title = document.createElement("div");
      title.className = "card-title";
      title.textContent = m.title || m.template_id;
      card.appendChild(title);
      var dl = document.createElement("dl");
      var rows = m.rows || Object.keys(m.data || {}).map(function (key) {
        var v = m.data[key];
        return [key, v && typeof v === "object" ? v.value : String(v)];
      });
      rows.forEach(function (row) {
        var dt = document.createElement("dt"), dd = document.createElement("dd");
        dt.textContent = row[0];
        dd.textContent = row[1];
        dl.appendChild(dt);
        dl.appendChild(dd);
      });
      card.appendChild(dl);
      if (m.url) {
        var more = document.createElement("a");
        more.className = "card-more";
        more.href = m.url;
        more.target = "_blank";
        more.rel = "noreferrer";
        more.textContent = "详情";
        card.appendChild(more);
      }
      bubble("push", "服务通知", card);
    } else {
      // A msgmenu's choices: on a phone each is a line the follower taps to send it back.
      var choices = (m.choices || []).map(function (c) { return "【" + c + "】"; }).join(" ");
      var label = m.kind === "text" ? "客服消息" : m.kind === "msgmenu" ? "客服消息（点选）" : m.kind;
      bubble("push", label, (m.content || JSON.stringify(m)) + (choices ? "\n" + choices : ""));
    }
  }

  function send(payload, echo) {
    payload.openid = currentOpenid();
    if (echo) bubble("me", "", echo);
    return fetch(sendUrl, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(payload)
    }).then(function (r) {
      return r.json().then(function (data) {
        if (!r.ok) throw new Error(data.error || r.status);
        showReply(data.reply);
      });
    }).catch(function (err) {
      bubble("error", "", "发送失败：" + err.message);
    }).then(poll);
  }

  function poll() {
    var openid = currentOpenid();
    if (!openid) return;
    // One poll at a time; a request made meanwhile runs as soon as it ends.
    if (polling) { pollAgain = true; return; }
    polling = true;
    fetch(messagesUrl.replace("OPENID", encodeURIComponent(openid)) + "?since=" + since)
      .then(function (r) { return r.ok ? r.json() : { messages: [] }; })
      .then(function (data) {
        if (openid !== currentOpenid()) return;  // identity changed while waiting
        data.messages.forEach(function (m) {
          since = Math.max(since, m.msgid);
          showPushed(m);
        });
      })
      .catch(function () { /* the emulator may be restarting; the next poll retries */ })
      .then(function () {
        polling = false;
        if (pollAgain) { pollAgain = false; poll(); }
      });
  }

  // Switching identity keeps each openid's conversation, as two phones would.
  function switchTo(openid) {
    var old = openidInput.dataset.current;
    if (old) logs[old] = { html: log.innerHTML, since: since };
    openidInput.value = openid;
    openidInput.dataset.current = openid;
    var saved = logs[openid];
    log.innerHTML = saved ? saved.html : "";
    since = saved ? saved.since : 0;
    if (!saved) {
      note("这是模拟的微信对话，不需要微信账号。试试点下面的“登记”“求助”“找服务站”。");
      note("当前身份：" + openid);
    }
    $("staff-hint").hidden = openid !== staffOpenid;
    poll();
  }

  $("identity").addEventListener("change", function (e) {
    var v = e.target.value;
    openidInput.readOnly = v !== "custom";
    if (v === "veteran") switchTo(veteranOpenid());
    else if (v === "staff") switchTo(staffOpenid);
    else { openidInput.focus(); openidInput.select(); }
  });
  openidInput.addEventListener("change", function () {
    if (currentOpenid()) switchTo(currentOpenid());
  });

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var value = text.value;
    // Empty in voice mode: a voice message WeChat sent without recognised text,
    // as it does more and more now that its speech recognition is withdrawn.
    if (voice && !value.trim()) {
      send({ type: "voice", recognition: "" }, "🎤 （一段语音，没有识别出文字）");
      return;
    }
    if (!value.trim()) return;
    text.value = "";
    if (voice) send({ type: "voice", recognition: value }, "🎤 " + value);
    else send({ type: "text", content: value }, value);
  });

  $("mode").addEventListener("click", function () {
    voice = !voice;
    form.classList.toggle("voice", voice);
    this.textContent = voice ? "文字" : "模拟语音";
    text.placeholder = voice ? "说的话（作为语音识别结果；留空＝没识别出文字）" : "输入文字";
    text.focus();
  });

  $("location").addEventListener("click", function () {
    var panel = $("location-panel");
    panel.hidden = !panel.hidden;
  });
  Array.prototype.forEach.call(document.querySelectorAll(".place"), function (b) {
    b.addEventListener("click", function () {
      var d = b.dataset;
      send({ type: "location", lat: d.lat, lon: d.lon, label: d.label },
        "📍 " + d.label + "（" + d.lat + ", " + d.lon + "）");
      $("location-panel").hidden = true;
    });
  });
  $("send-coords").addEventListener("click", function () {
    var lat = $("lat").value.trim(), lon = $("lon").value.trim();
    if (!lat || !lon) return;
    send({ type: "location", lat: lat, lon: lon, label: "" }, "📍 " + lat + ", " + lon);
    $("location-panel").hidden = true;
  });

  // The menu is the one `veteranbot menu push` installs; a top button with
  // sub-buttons opens them, as in WeChat.
  function closeMenus() {
    Array.prototype.forEach.call(document.querySelectorAll(".menu .subs"), function (s) { s.hidden = true; });
  }
  Array.prototype.forEach.call(document.querySelectorAll(".menu .opens"), function (b) {
    b.addEventListener("click", function () {
      var subs = b.nextElementSibling, wasHidden = subs.hidden;
      closeMenus();
      subs.hidden = !wasHidden;
    });
  });
  Array.prototype.forEach.call(document.querySelectorAll(".menu [data-key]"), function (b) {
    b.addEventListener("click", function () {
      closeMenus();
      send({ type: "click", key: b.dataset.key }, "［菜单］" + b.textContent);
    });
  });
  $("follow").addEventListener("click", function () { send({ type: "subscribe" }, "［关注公众号］"); });
  $("unfollow").addEventListener("click", function () { send({ type: "unsubscribe" }, "［取消关注］"); });

  openidInput.readOnly = true;
  switchTo(veteranOpenid());
  setInterval(poll, 3000);
})();
