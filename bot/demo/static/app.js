// Offline demo web chat: a simplified Telegram-like client for the sandbox backend.
// Vanilla ES2020, no build step. Message content is only ever inserted as text nodes.
"use strict";

const $ = (selector) => document.querySelector(selector);

const app = {
  bot: null,            // {id, name, username}
  people: [],
  villages: [],
  tz: 0,                // demo time zone offset in seconds, taken from clock.now
  person: null,         // the persona we are acting as
  chatId: null,         // the open chat
  chatType: null,
  replyKeyboard: null,  // rows of reply keyboard buttons, or null
  keyboardHidden: false,
  unread: new Map(),    // chat id -> count, for the current person's other chats
  loadSeq: 0,           // guards against out-of-order chat loads
  events: null,         // the EventSource
  replyTo: null,        // the message the composer replies to ({message_id, name, text}), or null
  clockAhead: null,     // ms the demo clock is ahead of this browser's (null: not known yet)
  commands: [],         // the "/" menu of this person in this chat ({command, description})
};

// ---------------------------------------------------------------- DOM helpers

/** Create an element. Strings among children become text nodes (never HTML). */
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value == null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  node.append(...children.filter((child) => child != null));
  return node;
}

let toastTimer = null;
function toast(text, isError = false) {
  const box = $("#toast");
  box.textContent = text;
  box.classList.toggle("error", isError);
  box.classList.remove("show");
  box.hidden = false;
  // As a popover the toast is in the top layer, so it shows above an open modal dialog too.
  if (box.showPopover) {
    if (box.matches(":popover-open")) box.hidePopover();
    box.showPopover();
  }
  requestAnimationFrame(() => box.classList.add("show"));
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    box.classList.remove("show");
    toastTimer = setTimeout(() => {
      box.hidden = true;
      if (box.hidePopover && box.matches(":popover-open")) box.hidePopover();
    }, 300);
  }, 2500);
}

function showAlert(text) {
  $("#alert-text").textContent = text;
  const dialog = $("#alert");
  if (!dialog.open) dialog.showModal();
  $("#alert-ok").focus();
}

const pad = (n) => String(n).padStart(2, "0");

// ---------------------------------------------------------------- HTTP

/** fetch JSON; throws an Error with a readable message on any failure. The server takes JSON
 * only, with this page's Origin (which the browser adds to a POST by itself). */
async function api(path, body) {
  const options = body === undefined ? {}
    : { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
  let response;
  try {
    response = await fetch(path, options);
  } catch (err) {
    throw new Error(tr("network"));
  }
  let data = null;
  try { data = await response.json(); } catch (err) { /* not JSON */ }
  if (data && data.ok === false && data.key) throw new Error(tr(`refused.${data.key}`, data.params || {}));
  if (data && data.ok === false) throw new Error(data.error || "Request failed");
  if (!response.ok) throw new Error((data && data.error) || `Server error ${response.status}`);
  return data;
}

/** A user action: errors become a toast and null is returned. */
async function act(path, body) {
  try {
    const result = await api(path, body);
    // Without a live event stream the result would never show up: fetch it.
    if (!app.events || app.events.readyState !== EventSource.OPEN) loadChat();
    return result;
  } catch (err) {
    toast(err.message, true);
    return null;
  }
}

const sendText = (text, chatId = app.chatId, replyTo = null) =>
  act("/api/send", { as: app.person.id, chat_id: chatId, text, reply_to: replyTo });

// ---------------------------------------------------------------- replies

/** Reply to a message: the bar above the composer quotes it, and the next text answers it. */
function startReply(msg, placeholder = null) {
  app.replyTo = { message_id: msg.message_id, name: (msg.from && msg.from.name) || "",
                  text: msg.text || msg.caption || "" };
  $("#reply-name").textContent = app.replyTo.name;
  $("#reply-text").textContent = app.replyTo.text;
  $("#reply-bar").hidden = false;
  $("#composer-input").placeholder = placeholder || tr("reply");
  $("#composer-input").focus();
}

function stopReply() {
  app.replyTo = null;
  $("#reply-bar").hidden = true;
  $("#composer-input").placeholder = tr("message");
}

/** A ForceReply opens the reply by itself for those it is meant for, as Telegram's app does. */
function followForceReply(msg) {
  const force = msg.force_reply;
  if (!force || msg.deleted) return;
  if (force.for == null || force.for.includes(app.person.id)) startReply(msg, force.placeholder);
}

/** Tap a message to select it; its ↩ starts a reply. */
function toggleSelected(node, event) {
  if (event.target.closest("button, a, img")) return;
  const was = node.classList.contains("selected");
  list().querySelectorAll(".msg.selected").forEach((n) => n.classList.remove("selected"));
  if (!was) node.classList.add("selected");
}

// ---------------------------------------------------------------- time

function setClock(clock) {
  if (!clock || !clock.now) return;
  const tz = /([+-])(\d\d):?(\d\d)$/.exec(clock.now);
  app.tz = tz ? (tz[1] === "-" ? -1 : 1) * (Number(tz[2]) * 3600 + Number(tz[3]) * 60) : 0;
  const demoNow = Date.parse(clock.now);
  app.clockAhead = Number.isNaN(demoNow) ? 0 : demoNow - Date.now();
  showClock();
}

/** The header shows the demo's time, and it goes on ticking between the server's updates. */
function showClock() {
  if (app.clockAhead === null) return;
  const d = demoDate((Date.now() + app.clockAhead) / 1000);
  $("#clock-now").textContent =
    `${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
}

// Message dates are shown in the demo's time zone, whatever the browser's is.
const demoDate = (unix) => new Date((unix + app.tz) * 1000);
const formatTime = (unix) => { const d = demoDate(unix); return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`; };
const dayKey = (unix) => demoDate(unix).toISOString().slice(0, 10);
const formatDay = (unix) => demoDate(unix).toLocaleDateString(language === "zh" ? "zh-CN" : "en-US", { month: "long", day: "numeric", timeZone: "UTC" });

// ---------------------------------------------------------------- links

const SAFE_HREF = /^(https?:|tg:)/i;

/**
 * For a link to our own bot (t.me/<bot>[?start=X] or tg://resolve?domain=<bot>[&start=X])
 * return {payload: X or null}; otherwise null.
 */
function botLink(href) {
  let url;
  try { url = new URL(href); } catch (err) { return null; }
  const bot = (app.bot && app.bot.username || "").toLowerCase();
  if (!bot) return null;
  const web = /^https?:$/.test(url.protocol) && /^(www\.)?(t|telegram)\.me$/i.test(url.hostname)
    && url.pathname.replace(/^\/|\/$/g, "").toLowerCase() === bot;
  const tg = url.protocol === "tg:" && /resolve/i.test(url.host + url.pathname)
    && (url.searchParams.get("domain") || "").toLowerCase() === bot;
  return web || tg ? { payload: url.searchParams.get("start") } : null;
}

/** Open a link: deep links to our bot start it in the private chat, others open a new tab. */
function openLink(href) {
  const link = botLink(href);
  if (link) {
    if (app.chatId !== app.person.id) openChat(app.person.id);
    if (link.payload != null) sendText(link.payload ? `/start ${link.payload}` : "/start", app.person.id);
  } else if (SAFE_HREF.test(href)) {
    window.open(href, "_blank", "noopener");
  } else {
    toast(tr("link.refused"), true);
  }
}

function makeLink(href) {
  if (botLink(href)) {
    return el("a", { href: "#", class: "deep-link",
      onclick: (e) => { e.preventDefault(); openLink(href); } });
  }
  if (SAFE_HREF.test(href)) return el("a", { href, target: "_blank", rel: "noopener" });
  return el("span", { class: "link-unsafe", title: href });
}

// ---------------------------------------------------------------- rich text

const SIMPLE_TAGS = { bold: "strong", italic: "em", underline: "u", strikethrough: "s", code: "code" };

/** The element for one entity: {outer} is inserted, its text goes into {inner}. */
function entityNode(entity, slice, ctx) {
  const wrap = (node) => ({ outer: node, inner: node });
  const type = entity.type;
  if (SIMPLE_TAGS[type]) return wrap(el(SIMPLE_TAGS[type]));
  switch (type) {
    case "spoiler":
      return wrap(el("span", { class: "spoiler", title: tr("spoiler"),
        onclick: (e) => e.currentTarget.classList.add("revealed") }));
    case "pre": {
      const code = el("code", { class: /^[\w+-]+$/.test(entity.language || "") ? `language-${entity.language}` : null });
      return { outer: el("pre", {}, code), inner: code };
    }
    case "blockquote":
      return wrap(el("blockquote"));
    case "expandable_blockquote":
      return wrap(el("blockquote", { class: "expandable collapsed", title: tr("expand"),
        onclick: (e) => e.currentTarget.classList.toggle("collapsed") }));
    case "text_link":
      return wrap(makeLink(entity.url || ""));
    case "url":
      return wrap(makeLink(/^[a-z][\w+.-]*:/i.test(slice) ? slice : `http://${slice}`));
    case "mention":
      return wrap(makeLink(`https://t.me/${slice.replace(/^@/, "")}`));
    case "bot_command":
      if (ctx.fromBot) {
        return wrap(el("a", { href: "#", class: "cmd",
          onclick: (e) => { e.preventDefault(); sendText(slice, ctx.chatId); } }));
      }
      return wrap(el("span", { class: "cmd" }));
    default: // hashtag, cashtag, phone_number, email, text_mention, ...
      return wrap(el("span", { class: `entity-${String(type).replace(/[^\w-]/g, "")}` }));
  }
}

/** Append text[from, to) to parent, wrapping entity ranges (sorted, may nest) recursively. */
function buildRange(text, entities, from, to, parent, ctx) {
  let pos = from;
  let i = 0;
  while (i < entities.length) {
    const entity = entities[i];
    const start = Math.max(entity.offset, pos);
    const end = Math.min(entity.end, to);
    // The entities starting inside this one are its children.
    let j = i + 1;
    while (j < entities.length && entities[j].offset < end) j++;
    if (start < end) {
      if (start > pos) parent.append(text.slice(pos, start));
      const { outer, inner } = entityNode(entity, text.slice(start, end), ctx);
      const children = entities.slice(i + 1, j).map((c) => ({ ...c, offset: Math.max(c.offset, start) }));
      buildRange(text, children, start, end, inner, ctx);
      parent.append(outer);
      pos = end;
    }
    i = j;
  }
  if (pos < to) parent.append(text.slice(pos, to));
}

/** Text with Telegram entities as a DOM fragment. Offsets are UTF-16, like JS strings. */
function richText(text, entities, ctx) {
  const sorted = (entities || [])
    .filter((e) => e && e.length > 0 && e.offset >= 0 && e.offset < text.length)
    .map((e) => ({ ...e, end: Math.min(e.offset + e.length, text.length) }))
    .sort((a, b) => a.offset - b.offset || b.end - a.end);
  const fragment = document.createDocumentFragment();
  buildRange(text, sorted, 0, text.length, fragment, ctx);
  return fragment;
}

// ---------------------------------------------------------------- messages

function messageKind(msg) {
  const from = msg.from || {};
  if (from.is_bot) return "bot";
  return from.id === app.person.id ? "own" : "other";
}

function attachments(msg) {
  const parts = [];
  if (msg.photo) {
    const img = el("img", { class: "photo", src: msg.photo, alt: msg.caption || tr("photo"), loading: "lazy",
      onclick: () => openViewer(msg.photo) });
    img.addEventListener("load", () => { if (img.dataset.stick) scrollToBottom(); }, { once: true });
    parts.push(img);
  }
  if (msg.venue) {
    parts.push(el("div", { class: "card venue" }, el("span", { class: "card-icon", text: "📍" }),
      el("div", {}, el("div", { class: "card-title", text: msg.venue.title }),
        el("div", { class: "card-sub", text: msg.venue.address }))));
  } else if (msg.location) {
    const { latitude, longitude } = msg.location;
    parts.push(el("div", { class: "card location", text: `📍 ${Number(latitude).toFixed(5)}, ${Number(longitude).toFixed(5)}` }));
  }
  if (msg.voice) {
    parts.push(el("div", { class: "card voice" }, el("span", { class: "card-icon", text: "🎤" }),
      el("audio", { controls: true, preload: "none", src: msg.voice.url, "aria-label": tr("voice.note") }),
      el("span", { class: "card-sub", text: `${Math.floor(msg.voice.duration / 60)}:${pad(msg.voice.duration % 60)}` })));
  }
  if (msg.contact) parts.push(el("div", { class: "card contact", text: `📞 ${msg.contact.phone_number}` }));
  if (msg.invoice) parts.push(invoiceCard(msg));  // pay.js
  if (msg.payment) parts.push(paymentCard(msg));
  if (msg.document) {
    parts.push(el("a", { class: "card document", href: msg.document.url, download: msg.document.name || true },
      el("span", { class: "card-icon", text: "📄" }), el("span", { class: "card-title", text: msg.document.name || tr("file") })));
  }
  return parts;
}

function inlineKeyboard(msg) {
  const grid = el("div", { class: "ikb-grid" });
  for (const row of msg.buttons) {
    const line = el("div", { class: "ikb-row" });
    for (const button of row) {
      const node = el("button", { type: "button", class: button.url ? "ikb url" : "ikb", text: button.text });
      if (button.pay && msg.invoice && msg.invoice.paid) {  // Telegram shows the receipt instead
        node.textContent = tr("pay.receipt");
        node.disabled = true;
      }
      node.addEventListener("click", () =>
        button.pay ? openPaySheet(msg)  // pay.js
          : button.url ? openLink(button.url)
          : button.callback_data != null ? tap(node, msg, button.callback_data)
            : toast(tr("inline.only.telegram")));  // e.g. 📨 Share in a chat (switch_inline_query)
      line.append(node);
    }
    grid.append(line);
  }
  return grid;
}

function renderMessage(msg) {
  const kind = messageKind(msg);
  const bubble = el("div", { class: "bubble" });
  if (kind !== "own" && app.chatType !== "private") {
    bubble.append(el("div", { class: "sender", text: (msg.from && msg.from.name) || "" }));
  }
  if (msg.reply_to) {
    bubble.append(el("div", { class: "quote" },
      el("div", { class: "quote-name", text: msg.reply_to.name }),
      el("div", { class: "quote-text", text: msg.reply_to.text || "" })));
  }
  bubble.append(...attachments(msg));
  const hasText = msg.text != null && msg.text !== "";
  const body = hasText ? msg.text : msg.caption;
  if (body) {
    const ctx = { fromBot: kind === "bot", chatId: msg.chat_id };
    bubble.append(el("div", { class: "text" },
      richText(body, hasText ? msg.entities : msg.caption_entities, ctx)));
  }
  bubble.append(el("div", { class: "meta" },
    msg.edited ? el("span", { class: "edited", text: tr("edited") }) : null,
    el("span", { class: "time", text: formatTime(msg.date) })));
  const node = el("div", { class: `msg ${kind}`,
    dataset: { messageId: msg.message_id, chatId: msg.chat_id, day: dayKey(msg.date) } }, bubble);
  if (msg.buttons && msg.buttons.length) node.append(inlineKeyboard(msg));
  node.append(el("button", { type: "button", class: "reply-btn", "aria-label": tr("reply"), title: tr("reply"),
    text: "↩", onclick: () => { node.classList.remove("selected"); startReply(msg); } }));
  bubble.addEventListener("click", (event) => toggleSelected(node, event));
  return node;
}

const list = () => $("#messages");
const findMessage = (id) => list().querySelector(`.msg[data-message-id="${Number(id)}"]`);

function isNearBottom() {
  const box = list();
  return box.scrollHeight - box.scrollTop - box.clientHeight < 80;
}

function scrollToBottom() {
  list().scrollTop = list().scrollHeight;
  showNewBelow(false);
}

/** The "New message ↓" cue, shown when a message lands below what the reader sees. */
function showNewBelow(show) {
  $("#new-below").hidden = !show;
}

/** Append a message, preceded by a day separator when the day changes. */
function appendMessage(msg) {
  const box = list();
  const last = [...box.querySelectorAll(".msg")].pop();
  const node = renderMessage(msg);
  if (!last || last.dataset.day !== node.dataset.day) {
    box.append(el("div", { class: "day-sep" }, el("span", { text: formatDay(msg.date) })));
  }
  box.append(node);
  return node;
}

/** Apply a "new" or "edit": replace in place if we have it, else append. */
function upsertMessage(msg) {
  const old = findMessage(msg.message_id);
  // Follow the conversation if the reader is at the bottom, or has just sent something.
  const stick = isNearBottom() || (!old && messageKind(msg) === "own");
  const node = old ? renderMessage(msg) : appendMessage(msg);
  if (old) old.replaceWith(node);
  updateEmptyHint();
  if (stick) {
    node.querySelectorAll("img.photo").forEach((img) => { img.dataset.stick = "1"; });
    scrollToBottom();
  } else if (!old) {
    showNewBelow(true);
  }
}

function removeMessage(msg) {
  const node = findMessage(msg.message_id);
  if (!node) return;
  // Drop a day separator left without messages.
  const prev = node.previousElementSibling;
  const next = node.nextElementSibling;
  node.remove();
  if (prev && prev.classList.contains("day-sep") && (!next || next.classList.contains("day-sep"))) prev.remove();
  updateEmptyHint();
}

function updateEmptyHint() {
  const box = list();
  const empty = !box.querySelector(".msg");
  const hint = box.querySelector(".empty-hint");
  if (!empty) { if (hint) hint.remove(); return; }
  if (hint) return;
  if (app.chatType === "private") {
    box.append(el("div", { class: "empty-hint" },
      el("p", { text: tr("bot.ready", { bot: app.bot ? app.bot.name : tr("the.bot") }) }),
      el("p", { class: "muted", text: tr("press.start") }),
      el("button", { type: "button", id: "start-button", class: "sheet-btn primary", text: tr("start"),
        onclick: () => sendText("/start") })));
  } else {
    box.append(el("div", { class: "empty-hint" }, el("p", { class: "muted", text: tr("empty") })));
  }
}

function showError(text, retry) {
  list().replaceChildren(el("div", { class: "empty-hint error" },
    el("p", { text }), el("button", { type: "button", class: "sheet-btn primary retry", text: tr("retry"), onclick: retry })));
}

// ---------------------------------------------------------------- keyboards & taps

async function tap(button, msg, data) {
  if (button.classList.contains("busy")) return;
  button.classList.add("busy");
  button.setAttribute("aria-busy", "true");
  try {
    const result = await act("/api/tap", { as: app.person.id, chat_id: msg.chat_id, message_id: msg.message_id, data });
    const answer = result && result.answer;
    if (answer && answer.show_alert) showAlert(answer.text || "");
    else if (answer && answer.text) toast(answer.text);
  } finally {
    button.classList.remove("busy");
    button.removeAttribute("aria-busy");
  }
}

function setReplyKeyboard(rows) {
  const next = rows && rows.length ? rows : null;
  // A different keyboard from the bot pops up even if the user had hidden the old one.
  if (JSON.stringify(next) !== JSON.stringify(app.replyKeyboard)) app.keyboardHidden = false;
  app.replyKeyboard = next;
  renderReplyKeyboard();
}

function renderReplyKeyboard() {
  const box = $("#reply-keyboard");
  const toggle = $("#kb-toggle");
  const rows = app.replyKeyboard;
  const stick = isNearBottom(); // the list shrinks or grows with the keyboard
  box.replaceChildren(...(rows || []).map((row) => el("div", { class: "rkb-row" },
    ...row.map((button) => el("button", { type: "button", class: "rkb", text: button.text,
      onclick: () => pressReplyButton(button) })))));
  box.hidden = !rows || app.keyboardHidden;
  toggle.hidden = !rows;
  toggle.setAttribute("aria-pressed", String(Boolean(rows) && !app.keyboardHidden));
  if (stick) scrollToBottom();
}

function pressReplyButton(button) {
  if (button.request_location) {
    $("#location-dialog").showModal();
  } else if (button.request_contact) {
    const who = app.bot ? app.bot.name : tr("the.bot");
    if (window.confirm(tr("share.phone", { bot: who }))) {
      act("/api/contact", { as: app.person.id, chat_id: app.chatId });
    }
  } else {
    sendText(button.text);
  }
}

function sendLocation(latitude, longitude) {
  if ($("#location-dialog").open) $("#location-dialog").close();
  act("/api/location", { as: app.person.id, chat_id: app.chatId, latitude, longitude });
}

function useMyPosition() {
  $("#location-dialog").close();
  if (!navigator.geolocation) { toast(tr("no.geolocation"), true); return; }
  navigator.geolocation.getCurrentPosition(
    (pos) => sendLocation(pos.coords.latitude, pos.coords.longitude),
    (err) => toast(tr("no.position", { reason: err.message || tr("denied") }), true),
    { timeout: 10000, maximumAge: 60000 });
}

// ---------------------------------------------------------------- photos and files

let previewUrl = null;

/** A picture goes as a photo, anything else as a file (the server takes CSV and plain text). */
const isPicture = (file) => file.type.startsWith("image/");

function choosePhoto() {
  const file = $("#attach").files[0];
  if (!file) return;
  const picture = isPicture(file);
  if (previewUrl) URL.revokeObjectURL(previewUrl);
  previewUrl = picture ? URL.createObjectURL(file) : null;
  if (picture) $("#photo-preview").src = previewUrl;
  $("#photo-preview").hidden = !picture;
  $("#doc-name").hidden = picture;
  $("#doc-name").textContent = picture ? "" : `📄 ${file.name} · ${Math.max(1, Math.round(file.size / 1024))} KB`;
  $("#photo-title").textContent = tr(picture ? "photo.send" : "file.send");
  $("#photo-caption").value = "";
  $("#photo-dialog").showModal();
  $("#photo-caption").focus();
}

async function sendPhoto() {
  const file = $("#attach").files[0];
  if (!file) return;
  const sendButton = $("#photo-send");
  sendButton.disabled = true;
  const caption = $("#photo-caption").value.trim() || null;
  const content = await base64Of(file);
  const who = { as: app.person.id, chat_id: app.chatId, caption };
  const result = isPicture(file)
    ? await act("/api/photo", { ...who, photo: content })
    : await act("/api/document", { ...who, document: content, file_name: file.name });
  sendButton.disabled = false;
  if (result) $("#photo-dialog").close();
}

/** The file's bytes in base64 (the server checks by them that it is a PNG, JPEG, WebP or GIF). */
function base64Of(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result.slice(reader.result.indexOf(",") + 1)); // after "data:...;base64,"
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

function closePhotoDialog() {
  // The close event comes as a task of its own: a file chosen meanwhile has opened the dialog
  // again, and must not be cleared under it.
  if ($("#photo-dialog").open) return;
  $("#attach").value = ""; // so the same file can be chosen again
  if (previewUrl) { URL.revokeObjectURL(previewUrl); previewUrl = null; }
  $("#photo-preview").removeAttribute("src");
}

// ---------------------------------------------------------------- voice notes

const canRecord = () => Boolean(navigator.mediaDevices && navigator.mediaDevices.getUserMedia && window.MediaRecorder);
let recording = null; // {recorder, chunks, started, stream} while the microphone records

/** 🎤 starts a recording; pressed again, it stops and sends it as a voice note. */
async function toggleVoice() {
  if (recording) { recording.recorder.stop(); return; }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  } catch (err) {
    toast(tr("voice.denied", { reason: err.message || tr("denied") }), true);
    return;
  }
  const type = ["audio/ogg;codecs=opus", "audio/webm;codecs=opus", "audio/webm"].find((t) => MediaRecorder.isTypeSupported(t));
  const recorder = new MediaRecorder(stream, type ? { mimeType: type } : {});
  recording = { recorder, chunks: [], started: Date.now(), stream, chatId: app.chatId };
  recorder.addEventListener("dataavailable", (e) => { if (e.data.size) recording.chunks.push(e.data); });
  recorder.addEventListener("stop", sendVoice);
  recorder.start();
  showRecording(true);
}

/** As in Telegram's app: with nothing typed, 🎤 stands where ➤ goes. */
function composerChanged() {
  const empty = !$("#composer-input").value.trim();
  $("#send").disabled = empty;
  $("#send").hidden = empty && canRecord();
  $("#voice-button").hidden = !(empty && canRecord()) && !recording;
}

async function sendVoice() {
  const { chunks, started, stream, recorder, chatId } = recording;
  recording = null;
  stream.getTracks().forEach((track) => track.stop());
  showRecording(false);
  const blob = new Blob(chunks, { type: recorder.mimeType || "audio/webm" });
  if (!blob.size) return;
  const voice = await base64Of(blob);
  await act("/api/voice", { as: app.person.id, chat_id: chatId, voice, duration: (Date.now() - started) / 1000 });
}

function showRecording(on) {
  const button = $("#voice-button");
  button.classList.toggle("recording", on);
  button.setAttribute("aria-pressed", String(on));
  button.textContent = on ? "⏹" : "🎤";
  button.dataset.i18nLabel = button.dataset.i18nTitle = on ? "voice.stop" : "voice.record";
  button.setAttribute("aria-label", tr(button.dataset.i18nLabel));
  button.title = tr(button.dataset.i18nTitle);
}

function openViewer(src) {
  $("#photo-viewer-img").src = src;
  $("#photo-viewer").showModal();
}

// ---------------------------------------------------------------- people, chats, hash

const findPerson = (id) => app.people.find((p) => p.id === Number(id));
const chatTitle = (chat) => (chat.type === "private" && app.bot ? app.bot.name : chat.title);

function fillPersonaPicker() {
  const select = $("#persona");
  const option = (p) => el("option", { value: p.id, text: `${p.name} — ${p.label} · ${p.language_name}` });
  const featured = app.people.filter((p) => p.featured);
  const others = app.people.filter((p) => !p.featured);
  const groups = [el("optgroup", { label: tr("people.demo") }, ...featured.map(option))];
  if (others.length) groups.push(el("optgroup", { label: tr("people.others") }, ...others.map(option)));
  select.replaceChildren(...groups);
  select.disabled = false;
}

function renderTabs() {
  const tabs = (app.person.chats || []).map((chat) => {
    const count = app.unread.get(chat.id) || 0;
    const active = chat.id === app.chatId;
    return el("button", { type: "button", class: active ? "chat-tab active" : "chat-tab",
      "aria-current": active ? "page" : null, dataset: { chatId: chat.id }, onclick: () => openChat(chat.id) },
      el("span", { class: "tab-icon", "aria-hidden": "true", text: chat.type === "private" ? "🤖" : "👥" }),
      el("span", { class: "tab-title", text: chatTitle(chat) }),
      el("span", { class: "badge", hidden: count === 0, "aria-label": count ? tr("unread", { count }) : null, text: count ? String(count) : "" }));
  });
  $("#chat-tabs").replaceChildren(...tabs);
}

function writeHash() {
  history.replaceState(null, "", `#p=${app.person.id}&c=${app.chatId}`);
}

function readHash() {
  const params = new URLSearchParams(location.hash.slice(1));
  return { personId: Number(params.get("p")), chatId: Number(params.get("c")) };
}

/** Switch persona (and chat); unknown ids fall back to the first featured person's private chat. */
function selectPerson(personId, chatId) {
  const person = findPerson(personId) || app.people.find((p) => p.featured) || app.people[0];
  if (!person) return;
  if (person !== app.person) app.unread.clear();
  app.person = person;
  if (person.language !== language) { // the page speaks the person's language
    setLanguage(person.language);
    fillPersonaPicker();
  }
  $("#persona").value = String(person.id);
  const chats = person.chats || [];
  openChat(chats.some((c) => c.id === chatId) ? chatId : person.id);
}

function openChat(chatId) {
  const chat = (app.person.chats || []).find((c) => c.id === chatId);
  app.chatId = chatId;
  app.chatType = chat ? chat.type : "private";
  app.unread.delete(chatId);
  renderTabs();
  writeHash();
  app.replyKeyboard = null;
  app.keyboardHidden = false;
  renderReplyKeyboard();
  stopReply();
  list().replaceChildren(el("div", { class: "loading", text: tr("loading") }));
  loadChat();
}

/** (Re)load the open chat from the server. */
async function loadChat() {
  const seq = ++app.loadSeq;
  const chatId = app.chatId;
  let data;
  try {
    data = await api(`/api/chats/${encodeURIComponent(chatId)}?as=${encodeURIComponent(app.person.id)}`);
  } catch (err) {
    if (seq === app.loadSeq) showError(tr("load.failed", { reason: err.message }), () => loadChat());
    return;
  }
  if (seq !== app.loadSeq || chatId !== app.chatId) return;
  if (data.chat && data.chat.type) app.chatType = data.chat.type;
  list().replaceChildren();
  for (const msg of data.messages || []) if (!msg.deleted) appendMessage(msg);
  // Photos load later and grow the list: keep it scrolled to the bottom when they do.
  list().querySelectorAll("img.photo").forEach((img) => { img.dataset.stick = "1"; });
  updateEmptyHint();
  setReplyKeyboard(data.reply_keyboard);
  app.commands = data.commands || [];
  $("#commands-button").hidden = !app.commands.length;
  showCommandMenu(null);
  scrollToBottom();
  const messages = (data.messages || []).filter((m) => !m.deleted);
  if (messages.length) followForceReply(messages[messages.length - 1]);
}

// ---------------------------------------------------------------- live events

function onMessageEvent(event) {
  let data;
  try { data = JSON.parse(event.data); } catch (err) { return; }
  const msg = data && data.message;
  if (!msg || !app.person) return;
  if (msg.chat_id !== app.chatId) {
    const mine = (app.person.chats || []).some((c) => c.id === msg.chat_id);
    if (mine && data.kind === "new" && messageKind(msg) !== "own") {
      app.unread.set(msg.chat_id, (app.unread.get(msg.chat_id) || 0) + 1);
      renderTabs();
    }
    return;
  }
  if (data.kind === "delete" || msg.deleted) removeMessage(msg);
  else upsertMessage(msg);
  if (data.kind === "new") followForceReply(msg);
  if ("reply_keyboard" in data) setReplyKeyboard(data.reply_keyboard);
}

function connectEvents() {
  const source = new EventSource("/api/events");
  let broken = false;
  let bannerTimer = null;
  app.events = source;
  source.addEventListener("open", () => {
    clearTimeout(bannerTimer);
    $("#conn-status").hidden = true;
    if (!broken) return;
    // We may have missed events while disconnected: refresh what is on screen.
    broken = false;
    if (app.person) loadChat();
    api("/api/state").then((s) => setClock(s.clock)).catch(() => {});
  });
  source.addEventListener("error", () => {
    broken = true;
    clearTimeout(bannerTimer);
    bannerTimer = setTimeout(() => { $("#conn-status").hidden = false; }, 1000);
    // A CLOSED source does not retry by itself (e.g. the server answered with an error).
    if (source.readyState === EventSource.CLOSED) {
      setTimeout(() => { if (app.events === source) connectEvents(); }, 3000);
    }
  });
  source.addEventListener("message", onMessageEvent);
  source.addEventListener("clock", (event) => {
    try { setClock(JSON.parse(event.data)); } catch (err) { /* ignore */ }
  });
}

// ---------------------------------------------------------------- wiring

/** localStorage, when the browser allows it. */
function remembered(key, value) {
  try {
    if (value === undefined) return localStorage.getItem(`webchat.${key}`);
    localStorage.setItem(`webchat.${key}`, value);
  } catch (err) { /* storage disabled */ }
  return null;
}

function showClockBar(open) {
  $("#clock-bar").hidden = !open;
  $("#clock-toggle").setAttribute("aria-expanded", String(open));
  remembered("clockBar", open ? "open" : "closed");
}

// step: {hours: 1 | 24} or {to: "opening"} (just after the first desk opens next)
async function moveClock(step, button) {
  button.disabled = true;
  const clock = await act("/api/clock", step);
  button.disabled = false;
  if (clock) setClock(clock);
}

// ---------------------------------------------------------------- the "/" menu

/** Show the commands starting with ``prefix`` (the typed text after "/"), or hide the menu (null). */
function showCommandMenu(prefix) {
  const menu = $("#command-menu");
  const found = prefix === null ? [] : app.commands.filter((c) => c.command.startsWith(prefix.toLowerCase()));
  menu.replaceChildren(...found.map((c) => el("button", { type: "button", class: "cmd-item", role: "option",
    onclick: () => sendCommand(c.command) },
    el("span", { class: "cmd-name", text: `/${c.command}` }), el("span", { class: "cmd-desc", text: c.description }))));
  menu.hidden = !found.length;
  $("#commands-button").setAttribute("aria-expanded", String(!menu.hidden));
}

/** A tap on a command sends it at once, as Telegram does; in a group it names the bot. */
function sendCommand(command) {
  const input = $("#composer-input");
  input.value = "";
  composerChanged();
  showCommandMenu(null);
  const botName = app.chatType !== "private" && app.bot && app.bot.username ? `@${app.bot.username}` : "";
  sendText(`/${command}${botName}`);
}

/** Typing "/" and the start of a command narrows the menu; anything else closes it. */
function commandPrefix(text) {
  const match = /^\/([a-z0-9_]*)$/i.exec(text);
  return match ? match[1] : null;
}

function submitComposer(event) {
  event.preventDefault();
  const input = $("#composer-input");
  const text = input.value.trim();
  if (!text) return;
  input.value = "";
  composerChanged();
  showCommandMenu(null);
  const replyTo = app.replyTo;
  stopReply();
  sendText(text, app.chatId, replyTo && replyTo.message_id).then((result) => {
    if (!result && !input.value) { // failed: give the text back
      input.value = text;
      composerChanged();
    }
  });
}

function bindUi() {
  $("#persona").addEventListener("change", (e) => selectPerson(Number(e.target.value)));
  $("#clock-toggle").addEventListener("click", () => showClockBar($("#clock-bar").hidden));
  showClockBar(remembered("clockBar") !== "closed");
  $("#clock-hour").addEventListener("click", (e) => moveClock({ hours: 1 }, e.currentTarget));
  $("#clock-day").addEventListener("click", (e) => moveClock({ hours: 24 }, e.currentTarget));
  $("#clock-morning").addEventListener("click", (e) => moveClock({ to: "opening" }, e.currentTarget));
  setInterval(showClock, 1000);
  $("#new-below").addEventListener("click", scrollToBottom);
  list().addEventListener("scroll", () => { if (isNearBottom()) showNewBelow(false); });
  $("#composer").addEventListener("submit", submitComposer);
  $("#reply-cancel").addEventListener("click", stopReply);
  $("#composer-input").addEventListener("input", (e) => {
    composerChanged();
    showCommandMenu(commandPrefix(e.target.value));
  });
  $("#commands-button").addEventListener("click", () => showCommandMenu($("#command-menu").hidden ? "" : null));
  $("#attach-button").addEventListener("click", () => $("#attach").click());
  composerChanged();
  $("#voice-button").addEventListener("click", toggleVoice);
  $("#attach").addEventListener("change", choosePhoto);
  $("#photo-send").addEventListener("click", sendPhoto);
  $("#photo-cancel").addEventListener("click", () => $("#photo-dialog").close());
  $("#photo-dialog").addEventListener("close", closePhotoDialog);
  $("#photo-caption").addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); sendPhoto(); } });
  $("#kb-toggle").addEventListener("click", () => { app.keyboardHidden = !app.keyboardHidden; renderReplyKeyboard(); });
  $("#location-button").addEventListener("click", () => $("#location-dialog").showModal());
  $("#location-mine").addEventListener("click", useMyPosition);
  $("#alert-ok").addEventListener("click", () => $("#alert").close());
  $("#photo-viewer").addEventListener("click", () => $("#photo-viewer").close());
  // A click on a dialog's backdrop (the dialog element itself) closes it.
  for (const id of ["#location-dialog", "#photo-dialog"]) {
    $(id).addEventListener("click", (e) => { if (e.target === e.currentTarget) e.currentTarget.close(); });
  }
  window.addEventListener("hashchange", () => {
    const { personId, chatId } = readHash();
    if (app.person && (personId !== app.person.id || chatId !== app.chatId)) selectPerson(personId, chatId);
  });
}

async function boot() {
  let state;
  try {
    state = await api("/api/state");
  } catch (err) {
    toast(err.message, true);
    showError(tr("unreachable", { reason: err.message }), boot);
    return;
  }
  app.bot = state.bot || null;
  app.people = state.people || [];
  app.villages = state.villages || [];
  setClock(state.clock);
  fillPersonaPicker();
  $("#village-label").hidden = !app.villages.length;
  $("#village-list").replaceChildren(...app.villages.map((v) => el("button", { type: "button",
    class: "sheet-btn village", text: v.name, onclick: () => sendLocation(v.latitude, v.longitude) })));
  const { personId, chatId } = readHash();
  if (!app.events) connectEvents();
  selectPerson(personId, chatId);
}

document.addEventListener("DOMContentLoaded", () => { setLanguage(browserLanguage()); bindUi(); boot(); });
