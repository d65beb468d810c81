/* The local LINE simulator page: sends resident actions to /simulator/api/send and polls
 * /simulator/api/messages for what the bot answered. Vanilla JS, no dependencies. */
(function () {
  "use strict";

  var POLL_MS = 700;
  var USER_KEY = "zuozhen-simulator-user";
  var OUTSIDE_POINT = { lat: 22.9917, lng: 120.1850, address: "700臺南市中西區" };
  var DISTRICT_ADDRESS = "713臺南市左鎮區";

  // Page text shown to the person using the simulator (zh-TW).
  var T = {
    locationTitle: "位置資訊",
    sticker: "貼圖",
    voice: "語音訊息",
    photo: "照片",
    video: "影片",
    audio: "語音",
    file: "檔案",
    openMap: "在地圖上查看",
    tapped: "已點選",
    picked: "已選擇 ",
    webhookStatus: "webhook 回應",
    offline: "無法連線到模擬器，請確認伺服器是否在執行。",
    sendFailed: "傳送失敗：",
    copied: "已複製",
    unsupported: "模擬器不支援這個動作：",
    newUser: "已切換為新使用者，並送出「加入好友」事件。",
    chooseDate: "選擇日期",
    chooseTime: "選擇時間",
    chooseDateTime: "選擇日期與時間",
    mentionedUser: "使用者"
  };

  var app = document.getElementById("app");
  var chat = document.getElementById("chat");
  var quickBar = document.getElementById("quick-replies");
  var richMenu = document.getElementById("rich-menu");
  var menuButton = document.getElementById("btn-menu");
  var textInput = document.getElementById("text-input");
  var fileInput = document.getElementById("file-input");
  var toast = document.getElementById("toast");
  var locationDialog = document.getElementById("location-dialog");
  var datetimeDialog = document.getElementById("datetime-dialog");
  var datetimeInput = document.getElementById("datetime-input");

  var state = {
    user: null,
    lastSeq: 0,
    pendingDatetime: null,
    loadingBubble: null,
    pollTimer: null,
    polling: false,
    pollAgain: false
  };

  // ---- helpers ------------------------------------------------------------------------------

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function randomUserId() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return "U" + Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  function clock() {
    var d = new Date();
    return ("0" + d.getHours()).slice(-2) + ":" + ("0" + d.getMinutes()).slice(-2);
  }

  function showToast(text) {
    toast.textContent = text;
    toast.hidden = false;
    clearTimeout(showToast.timer);
    showToast.timer = setTimeout(function () { toast.hidden = true; }, 2500);
  }

  function scrollToEnd() {
    chat.scrollTop = chat.scrollHeight;
  }

  function isSafeUrl(url) {
    return typeof url === "string" && /^(https?:|data:image\/|blob:)/i.test(url);
  }

  // ---- chat rendering -----------------------------------------------------------------------

  function addRow(side, content) {
    var row = el("div", "row " + side);
    if (side === "bot") row.appendChild(el("div", "avatar", "區"));
    var stack = el("div", "stack");
    stack.appendChild(content);
    row.appendChild(stack);
    row.appendChild(el("time", "time", clock()));
    if (state.loadingBubble && state.loadingBubble.parentNode === chat) {
      chat.insertBefore(row, state.loadingBubble);
    } else {
      chat.appendChild(row);
    }
    scrollToEnd();
    return row;
  }

  function addSystem(text) {
    var note = el("div", "system", text);
    chat.appendChild(note);
    scrollToEnd();
  }

  function textBubble(text, extraClass) {
    return el("div", "bubble" + (extraClass ? " " + extraClass : ""), text);
  }

  function userBubble(content) {
    return addRow("user", typeof content === "string" ? textBubble(content) : content);
  }

  function locationCard(title, address, lat, lng) {
    var card = el("div", "bubble location-card");
    card.appendChild(el("div", "location-title", "📍 " + (title || T.locationTitle)));
    if (address) card.appendChild(el("div", "location-address", address));
    card.appendChild(el("div", "location-coords", Number(lat).toFixed(6) + ", " + Number(lng).toFixed(6)));
    var link = el("a", "location-link", T.openMap);
    link.href = "https://www.openstreetmap.org/?mlat=" + lat + "&mlon=" + lng + "#map=17/" + lat + "/" + lng;
    link.target = "_blank";
    link.rel = "noopener";
    card.appendChild(link);
    return card;
  }

  function imageBubble(src, href) {
    var box = el("div", "bubble image-bubble");
    if (isSafeUrl(src)) {
      var img = el("img");
      img.src = src;
      img.alt = T.photo;
      img.onerror = function () { box.textContent = "🖼️ " + T.photo; };
      if (isSafeUrl(href) && !/^blob:/.test(href)) {
        var a = el("a");
        a.href = href;
        a.target = "_blank";
        a.rel = "noopener";
        a.appendChild(img);
        box.appendChild(a);
      } else {
        box.appendChild(img);
      }
    } else {
      box.textContent = "🖼️ " + T.photo;
    }
    return box;
  }

  function actionButton(action, className) {
    var button = el("button", className, (action && action.label) || "");
    button.type = "button";
    button.addEventListener("click", function () { performAction(action); });
    return button;
  }

  // Flex Message: a readable approximation of LINE's layout.
  var FLEX_SIZES = { xxs: "0.7em", xs: "0.8em", sm: "0.9em", md: "1em", lg: "1.15em",
                     xl: "1.3em", xxl: "1.5em", "3xl": "1.8em", "4xl": "2.1em", "5xl": "2.5em" };

  function flexNode(node) {
    if (!node || typeof node !== "object") return el("span");
    var out;
    switch (node.type) {
      case "carousel":
        out = el("div", "flex-carousel");
        (node.contents || []).forEach(function (b) { out.appendChild(flexNode(b)); });
        return out;
      case "bubble":
        out = el("div", "flex-bubble");
        ["header", "hero", "body", "footer"].forEach(function (part) {
          if (node[part]) {
            var section = el("div", "flex-" + part);
            section.appendChild(flexNode(node[part]));
            out.appendChild(section);
          }
        });
        return out;
      case "box":
        out = el("div", "flex-box flex-" + (node.layout || "vertical"));
        (node.contents || []).forEach(function (c) { out.appendChild(flexNode(c)); });
        if (node.backgroundColor) out.style.backgroundColor = node.backgroundColor;
        if (node.action) {
          out.classList.add("flex-clickable");
          out.addEventListener("click", function () { performAction(node.action); });
        }
        break;
      case "text":
        out = el("div", "flex-text");
        if (Array.isArray(node.contents) && node.contents.length) {
          node.contents.forEach(function (span) {
            var s = el("span", null, span.text || "");
            if (span.weight === "bold") s.style.fontWeight = "bold";
            if (span.color) s.style.color = span.color;
            if (span.size && FLEX_SIZES[span.size]) s.style.fontSize = FLEX_SIZES[span.size];
            out.appendChild(s);
          });
        } else {
          out.textContent = node.text || "";
        }
        if (node.weight === "bold") out.style.fontWeight = "bold";
        if (node.color) out.style.color = node.color;
        if (node.size && FLEX_SIZES[node.size]) out.style.fontSize = FLEX_SIZES[node.size];
        if (node.align) out.style.textAlign = node.align === "end" ? "right" : node.align === "center" ? "center" : "left";
        if (node.action) {
          out.classList.add("flex-clickable");
          out.addEventListener("click", function () { performAction(node.action); });
        }
        break;
      case "button":
        out = actionButton(node.action, "flex-button flex-button-" + (node.style || "link"));
        if (node.color && node.style === "primary") out.style.backgroundColor = node.color;
        break;
      case "image":
        out = el("div", "flex-image");
        if (isSafeUrl(node.url)) {
          var img = el("img");
          img.src = node.url;
          img.alt = "";
          out.appendChild(img);
        }
        break;
      case "icon":
        out = el("span", "flex-icon");
        break;
      case "separator":
        out = el("hr", "flex-separator");
        break;
      case "filler":
      case "spacer":
        out = el("div", "flex-filler");
        break;
      case "video":
        out = flexNode(node.altContent);
        break;
      default:
        out = el("span");
    }
    if (node.flex !== undefined && out.style) out.style.flex = String(node.flex);
    return out;
  }

  function templateBubble(message) {
    var t = message.template || {};
    var columns = t.type === "carousel" || t.type === "image_carousel" ? (t.columns || []) : [t];
    var wrap = el("div", columns.length > 1 ? "flex-carousel" : "");
    columns.forEach(function (column) {
      var card = el("div", "bubble template-card");
      if (isSafeUrl(column.thumbnailImageUrl || column.imageUrl)) {
        var img = el("img", "template-image");
        img.src = column.thumbnailImageUrl || column.imageUrl;
        img.alt = "";
        card.appendChild(img);
      }
      if (column.title) card.appendChild(el("div", "template-title", column.title));
      if (column.text) card.appendChild(el("div", "template-text", column.text));
      var actions = column.actions || (column.action ? [column.action] : []);
      actions.forEach(function (a) { card.appendChild(actionButton(a, "flex-button flex-button-link")); });
      wrap.appendChild(card);
    });
    return wrap;
  }

  function substituteV2(message) {
    var subs = message.substitution || {};
    return String(message.text || "").replace(/\{([A-Za-z0-9_]+)\}/g, function (match, key) {
      var sub = subs[key];
      if (!sub) return match;
      if (sub.type === "mention") return "@" + (sub.mentionee && sub.mentionee.type === "all" ? "All" : T.mentionedUser);
      if (sub.type === "emoji") return "😀";
      return match;
    });
  }

  function renderBotMessage(message) {
    var content;
    switch (message.type) {
      case "text":
        content = textBubble(message.text || "");
        break;
      case "textV2":
        content = textBubble(substituteV2(message));
        break;
      case "image":
        content = imageBubble(message.previewImageUrl, message.originalContentUrl);
        break;
      case "video":
        content = textBubble("🎬 " + T.video);
        break;
      case "audio":
        content = textBubble("🔊 " + T.audio);
        break;
      case "location":
        content = locationCard(message.title, message.address, message.latitude, message.longitude);
        break;
      case "sticker":
        content = textBubble("🧸 " + T.sticker, "sticker-bubble");
        break;
      case "flex":
        content = el("div", "flex-message");
        content.appendChild(el("div", "alt-text", message.altText || ""));
        content.appendChild(flexNode(message.contents));
        break;
      case "template":
        content = el("div", "flex-message");
        content.appendChild(el("div", "alt-text", message.altText || ""));
        content.appendChild(templateBubble(message));
        break;
      default:
        content = textBubble(message.altText || "[" + message.type + "]");
    }
    addRow("bot", content);
  }

  function setLoading(on) {
    if (on && !state.loadingBubble) {
      var row = el("div", "row bot loading");
      row.appendChild(el("div", "avatar", "區"));
      var dots = el("div", "bubble typing");
      for (var i = 0; i < 3; i++) dots.appendChild(el("span", "dot"));
      row.appendChild(dots);
      chat.appendChild(row);
      state.loadingBubble = row;
      scrollToEnd();
    } else if (!on && state.loadingBubble) {
      state.loadingBubble.remove();
      state.loadingBubble = null;
    }
  }

  // ---- quick replies ------------------------------------------------------------------------

  var ACTION_ICONS = { camera: "📷 ", cameraRoll: "🖼️ ", location: "📍 ", datetimepicker: "📅 ",
                       uri: "🔗 ", clipboard: "📋 " };

  function showQuickReplies(items) {
    quickBar.textContent = "";
    if (!items || !items.length) {
      quickBar.hidden = true;
      return;
    }
    items.forEach(function (item) {
      var action = item.action || {};
      var button = actionButton(action, "quick-reply");
      button.textContent = (ACTION_ICONS[action.type] || "") + (action.label || "");
      quickBar.appendChild(button);
    });
    quickBar.hidden = false;
  }

  // ---- sending ------------------------------------------------------------------------------

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) throw new Error(data.error || String(response.status));
        return data;
      });
    });
  }

  // Send one resident action as a LINE webhook event. Any action hides the quick replies,
  // as in LINE.
  function sendEvent(payload) {
    payload.user = state.user;
    showQuickReplies(null);
    return post(app.dataset.sendUrl, payload).then(function (result) {
      if (result.status < 200 || result.status >= 300) {
        addSystem("⚠️ " + T.webhookStatus + " " + result.status);
      }
      poll();
      return result;
    }).catch(function (err) {
      addSystem("⚠️ " + T.sendFailed + err.message);
    });
  }

  function sendText(text) {
    text = String(text || "");
    if (!text.trim()) return;
    userBubble(text);
    sendEvent({ kind: "text", text: text });
  }

  function sendPostback(data, shownText, params) {
    if (shownText) userBubble(shownText);
    var payload = { kind: "postback", data: data };
    if (params) payload.params = params;
    sendEvent(payload);
  }

  function sendLocation(lat, lng, title, address) {
    userBubble(locationCard(title, address, lat, lng));
    sendEvent({ kind: "location", lat: lat, lng: lng, title: title || undefined,
                address: address || undefined });
  }

  function sendPhoto(file) {
    if (!file) return;
    var reader = new FileReader();
    reader.onload = function () {
      var dataUrl = String(reader.result);
      userBubble(imageBubble(dataUrl));
      sendEvent({ kind: "image", image_b64: dataUrl.slice(dataUrl.indexOf(",") + 1),
                  content_type: file.type || "image/jpeg" });
    };
    reader.readAsDataURL(file);
  }

  function performAction(action) {
    if (!action) return;
    switch (action.type) {
      case "postback":
        var shown = action.displayText || action.text;
        if (!shown) addSystem("（" + T.tapped + "「" + (action.label || action.data) + "」）");
        sendPostback(action.data, shown);
        if (action.inputOption === "openRichMenu") setRichMenu(true);
        if (action.inputOption === "openKeyboard") {
          if (action.fillInText) textInput.value = action.fillInText;
          textInput.focus();
        }
        break;
      case "message":
        sendText(action.text);
        break;
      case "uri":
        if (/^(https?:|tel:|line:)/i.test(action.uri || "")) window.open(action.uri, "_blank", "noopener");
        break;
      case "datetimepicker":
        openDatetime(action);
        break;
      case "camera":
        fileInput.setAttribute("capture", "environment");
        fileInput.click();
        break;
      case "cameraRoll":
        fileInput.removeAttribute("capture");
        fileInput.click();
        break;
      case "location":
        openDialog(locationDialog);
        break;
      case "clipboard":
        if (navigator.clipboard) navigator.clipboard.writeText(action.clipboardText || "");
        showToast(T.copied);
        break;
      default:
        showToast(T.unsupported + action.type);
    }
  }

  // ---- dialogs ------------------------------------------------------------------------------

  function openDialog(dialog) {
    dialog.hidden = false;
  }

  function closeDialog(dialog) {
    dialog.hidden = true;
  }

  Array.prototype.forEach.call(document.querySelectorAll("[data-close]"), function (button) {
    button.addEventListener("click", function () {
      closeDialog(button.closest(".overlay"));
    });
  });
  Array.prototype.forEach.call(document.querySelectorAll(".overlay"), function (overlay) {
    overlay.addEventListener("click", function (e) {
      if (e.target === overlay) closeDialog(overlay);
    });
  });

  function openDatetime(action) {
    var mode = action.mode || "datetime";
    var inputType = { date: "date", time: "time", datetime: "datetime-local" }[mode] || "datetime-local";
    datetimeInput.type = inputType;
    datetimeInput.value = action.initial || "";
    datetimeInput.min = action.min || "";
    datetimeInput.max = action.max || "";
    document.getElementById("datetime-title").textContent =
      action.label || { date: T.chooseDate, time: T.chooseTime }[mode] || T.chooseDateTime;
    state.pendingDatetime = { action: action, mode: mode };
    openDialog(datetimeDialog);
    datetimeInput.focus();
  }

  document.getElementById("datetime-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var pending = state.pendingDatetime;
    if (!pending || !datetimeInput.value) return;
    var params = {};
    params[pending.mode] = datetimeInput.value.slice(0, pending.mode === "date" ? 10 : 16);
    closeDialog(datetimeDialog);
    state.pendingDatetime = null;
    addSystem("（" + T.picked + params[pending.mode] + "）");
    sendPostback(pending.action.data, null, params);
  });

  function loadVillages() {
    var grid = document.getElementById("village-buttons");
    fetch(app.dataset.villagesUrl).then(function (r) { return r.json(); }).then(function (data) {
      (data.villages || []).forEach(function (v) {
        var button = el("button", "village-button", v.name);
        button.type = "button";
        button.addEventListener("click", function () {
          closeDialog(locationDialog);
          sendLocation(v.lat, v.lng, T.locationTitle, DISTRICT_ADDRESS);
        });
        grid.appendChild(button);
      });
    }).catch(function () { /* free coordinates still work */ });
  }

  document.getElementById("outside-button").addEventListener("click", function () {
    closeDialog(locationDialog);
    sendLocation(OUTSIDE_POINT.lat, OUTSIDE_POINT.lng, T.locationTitle, OUTSIDE_POINT.address);
  });

  document.getElementById("location-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var lat = parseFloat(document.getElementById("loc-lat").value);
    var lng = parseFloat(document.getElementById("loc-lng").value);
    if (isNaN(lat) || isNaN(lng)) return;
    closeDialog(locationDialog);
    sendLocation(lat, lng, document.getElementById("loc-title").value.trim(),
                 document.getElementById("loc-address").value.trim());
  });

  // ---- composer and rich menu ---------------------------------------------------------------

  function setRichMenu(open) {
    richMenu.hidden = !open;
    menuButton.setAttribute("aria-pressed", open ? "true" : "false");
    scrollToEnd();
  }

  menuButton.addEventListener("click", function () { setRichMenu(richMenu.hidden); });

  Array.prototype.forEach.call(richMenu.querySelectorAll(".rich-item"), function (button) {
    button.addEventListener("click", function () {
      if (button.dataset.uri) {
        window.open(button.dataset.uri, "_blank");
        return;
      }
      sendPostback(button.dataset.data, button.dataset.label);
    });
  });

  document.getElementById("send-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var text = textInput.value;
    textInput.value = "";
    sendText(text);
  });

  document.getElementById("btn-location").addEventListener("click", function () {
    openDialog(locationDialog);
  });
  document.getElementById("btn-photo").addEventListener("click", function () {
    fileInput.removeAttribute("capture");
    fileInput.click();
  });
  fileInput.addEventListener("change", function () {
    var file = fileInput.files && fileInput.files[0];
    fileInput.value = "";
    sendPhoto(file);
  });
  document.getElementById("btn-sticker").addEventListener("click", function () {
    userBubble(textBubble("🧸 " + T.sticker, "sticker-bubble"));
    sendEvent({ kind: "sticker", packageId: "446", stickerId: "1988" });
  });
  document.getElementById("btn-voice").addEventListener("click", function () {
    // A 2-second sample voice message (bot/samples/voice-2s.m4a, served by the fake LINE API).
    userBubble("🎤 " + T.voice + " 0:02");
    sendEvent({ kind: "audio", duration: 2000 });
  });

  // ---- users and polling --------------------------------------------------------------------

  function setUser(userId) {
    state.user = userId;
    state.lastSeq = 0;
    try { localStorage.setItem(USER_KEY, userId); } catch (e) { /* private mode */ }
    document.getElementById("user-label").textContent = userId.slice(0, 9) + "…";
    document.getElementById("user-label").title = userId;
    chat.textContent = "";
    state.loadingBubble = null;
    showQuickReplies(null);
  }

  document.getElementById("new-user").addEventListener("click", function () {
    setUser(randomUserId());
    addSystem(T.newUser);
    sendEvent({ kind: "follow" });
  });

  // One poll at a time: a poll asked for while one is in flight runs right after it.
  function poll() {
    clearTimeout(state.pollTimer);
    if (state.polling) {
      state.pollAgain = true;
      return;
    }
    state.polling = true;
    state.pollAgain = false;
    var user = state.user;
    var url = app.dataset.messagesUrl + "?user=" + encodeURIComponent(user) + "&after=" + state.lastSeq;
    fetch(url).then(function (r) { return r.json(); }).then(function (data) {
      if (user !== state.user) return;
      var messages = data.messages || [];
      var fresh = messages.filter(function (m) { return m.seq > state.lastSeq; });
      if (fresh.length) {
        setLoading(false);
        fresh.forEach(function (m) {
          state.lastSeq = Math.max(state.lastSeq, m.seq);
          renderBotMessage(m.message || {});
        });
        var last = fresh[fresh.length - 1].message || {};
        showQuickReplies(last.quickReply && last.quickReply.items);
      }
      setLoading(Boolean(data.loading));
      poll.failed = false;
    }).catch(function () {
      if (!poll.failed) addSystem("⚠️ " + T.offline);
      poll.failed = true;
    }).then(function () {
      state.polling = false;
      state.pollTimer = setTimeout(poll, state.pollAgain ? 0 : POLL_MS);
    });
  }

  var saved = null;
  try { saved = localStorage.getItem(USER_KEY); } catch (e) { /* private mode */ }
  setUser(saved && /^U[0-9a-f]{32}$/.test(saved) ? saved : app.dataset.defaultUser);
  loadVillages();
  poll();
})();
