"use strict";
// The web chat's own words, in English and Chinese. The page speaks the language of the person it
// plays (their Telegram language), or the browser's before a person is picked.

const WORDS = {
  en: {
    "loading": "Loading…",
    "persona": "Persona",
    "clock.title": "Demo clock",
    "clock.hint": "Move the demo clock for reminders and digests; at night they wait for 🌅 Morning.",
    "clock.hour": "+1 h",
    "clock.day": "+1 day",
    "clock.morning": "🌅 Morning",
    "clock.morning.title": "Just after the desk opens: the morning digest",
    "chats": "Chats",
    "reconnecting": "Reconnecting…",
    "messages": "Messages",
    "new.below": "New message ↓",
    "reply.cancel": "Cancel the reply",
    "commands": "Commands",
    "attach": "Attach a photo or a file",
    "attach.title": "Attach a photo or a CSV file",
    "location": "Share a location",
    "message": "Message",
    "reply": "Reply",
    "keyboard": "Show / hide the keyboard",
    "send": "Send",
    "location.title": "📍 Share location",
    "location.mine": "Use my position",
    "location.villages": "Or pretend to be at a service center:",
    "cancel": "Cancel",
    "photo.send": "Send photo",
    "file.send": "Send file",
    "photo.selected": "Selected photo",
    "caption": "Caption (optional)",
    "caption.placeholder": "Add a caption…",
    "ok": "OK",
    "photo": "Photo",
    "photo.full": "Photo, full size",
    "file": "File",
    "edited": "edited",
    "spoiler": "Show spoiler",
    "expand": "Expand",
    "bot.ready": "{bot} is ready.",
    "the.bot": "The bot",
    "press.start": "Press Start to begin",
    "start": "Start",
    "empty": "No messages here yet.",
    "retry": "Retry",
    "share.phone": "Share your phone number with {bot}?",
    "no.geolocation": "Geolocation is not available here",
    "no.position": "Could not get your position: {reason}",
    "denied": "denied",
    "link.refused": "This link cannot be opened in the demo",
    "people.demo": "Demo people",
    "people.others": "Other partners",
    "unread": "{count} unread",
    "load.failed": "Could not load the chat: {reason}",
    "unreachable": "Could not reach the demo: {reason}",
    "network": "Network error: is the demo server running?",
    "voice.record": "Record a voice note",
    "voice.stop": "Stop and send the voice note",
    "voice.note": "Voice note",
    "voice.denied": "The microphone is not available: {reason}",
  },
  zh: {
    "loading": "加载中…",
    "persona": "扮演的人",
    "clock.title": "演示时钟",
    "clock.hint": "拨动演示时钟看提醒和早报；夜里的提醒等到 🌅 早上。",
    "clock.hour": "+1 小时",
    "clock.day": "+1 天",
    "clock.morning": "🌅 早上",
    "clock.morning.title": "服务站刚开门：早上的待办汇总",
    "chats": "聊天",
    "reconnecting": "正在重新连接…",
    "messages": "消息",
    "new.below": "新消息 ↓",
    "reply.cancel": "取消回复",
    "commands": "命令",
    "attach": "发送照片或文件",
    "attach.title": "发送照片或 CSV 文件",
    "location": "发送位置",
    "message": "输入消息",
    "reply": "回复",
    "keyboard": "显示 / 隐藏键盘",
    "send": "发送",
    "location.title": "📍 发送位置",
    "location.mine": "用我现在的位置",
    "location.villages": "或者假装在某个服务站：",
    "cancel": "取消",
    "photo.send": "发送照片",
    "file.send": "发送文件",
    "photo.selected": "选中的照片",
    "caption": "说明（可不填）",
    "caption.placeholder": "加一句说明…",
    "ok": "好的",
    "photo": "照片",
    "photo.full": "照片原图",
    "file": "文件",
    "edited": "已编辑",
    "spoiler": "显示隐藏内容",
    "expand": "展开",
    "bot.ready": "{bot}已准备好。",
    "the.bot": "机器人",
    "press.start": "点击“开始”",
    "start": "开始",
    "empty": "这里还没有消息。",
    "retry": "重试",
    "share.phone": "把你的手机号发给{bot}吗？",
    "no.geolocation": "这里无法定位",
    "no.position": "无法获取你的位置：{reason}",
    "denied": "被拒绝",
    "link.refused": "演示里打不开这个链接",
    "people.demo": "演示人物",
    "people.others": "其他站长",
    "unread": "{count} 条未读",
    "load.failed": "无法加载聊天：{reason}",
    "unreachable": "连不上演示：{reason}",
    "network": "网络错误：演示服务在运行吗？",
    "voice.record": "录语音",
    "voice.stop": "停止并发送语音",
    "voice.note": "语音",
    "voice.denied": "无法使用麦克风：{reason}",
  },
};

/** "zh" for a Chinese browser, else "en". */
const browserLanguage = () => ((navigator.language || "en").toLowerCase().startsWith("zh") ? "zh" : "en");

let language = browserLanguage();

/** The page's word for ``key`` in its language, with ``{name}`` filled from ``vars``. */
function tr(key, vars = {}) {
  const text = (WORDS[language] && WORDS[language][key]) || WORDS.en[key] || key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
}

/** Speak ``lang`` ("zh", "en"; else the browser's): the marked words of the page change now. */
function setLanguage(lang) {
  language = WORDS[lang] ? lang : browserLanguage();
  document.documentElement.lang = language === "zh" ? "zh-Hans" : "en";
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = tr(node.dataset.i18n);
  for (const [attribute, key] of [["placeholder", "i18nPlaceholder"], ["title", "i18nTitle"],
    ["aria-label", "i18nLabel"], ["alt", "i18nAlt"]]) {
    for (const node of document.querySelectorAll(`[data-${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}]`)) {
      node.setAttribute(attribute, tr(node.dataset[key]));
    }
  }
}
