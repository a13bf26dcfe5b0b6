"""No strangers' words: a Chinese-speaking villager, the partner's desk in a Chinese group, and a
Chinese-speaking admin walk through their journeys, and nothing the bot shows them (a message, an
edit, a caption, a button, a popup, the command menu) is in English."""

from __future__ import annotations

import re

from chat import last_text, settle_in
from locales import available_locales, translator
from services.partners import add_partner
from support.desk import ADMIN, GROUP_ID

ZH = translator("zh_Hans")
# What may stay in Latin letters: codes (CG-01, RT-4K2QX, FD-001), commands (/bind), units and
# names that are the same in Chinese text, and the markup of Telegram HTML.
COMMAND = re.compile(r"/[a-z_]+(?: (?:on|off|list|add|remove|cancel)\b)?")  # with the words typed after it
# SKUs, order numbers, center codes; category codes; time zones (Asia/Shanghai)
CODE = re.compile(r"\b[A-Z]{2}-[0-9A-Z]{2,}\b|\b[a-z]+(?:_[a-z]+)+\b|\b[A-Z][a-z]+/[A-Z][A-Za-z_]+\b")
# The language picker names each language in itself, so that anyone finds their own.
OWN_NAMES = {translator(locale).display_name for locale in available_locales()}
TAG = re.compile(r"</?[a-z-]+[^>]*>|&lt;/?[a-z]+.*?&gt;|&[a-z]+;")  # markup, and markup shown as an example
ALLOWED = {"kg", "Telegram", "HTML", "CSV", "SKU", "Email", "Android", "iPhone", "ID"}
WORD = re.compile(r"[A-Za-z]{2,}")


def shown(double) -> list[tuple[str, str]]:
    """Every (method, text) the bot put before people: texts, captions, buttons, popups, commands;
    except a promotion's preview "as English readers will see it", which is English on purpose."""
    seen, preview_next = [], False
    for call in double.calls:
        params = call.params
        if call.method in ("sendMessage", "sendPhoto") and preview_next:
            preview_next = False
            continue
        preview_next = str(params.get("text", "")).startswith("👀") and ZH.name_of("en") in params["text"]
        for key in ("text", "caption"):
            if isinstance(params.get(key), str):
                seen.append((call.method, params[key]))
        markup = params.get("reply_markup")
        if isinstance(markup, dict):
            for row in markup.get("inline_keyboard", []) + markup.get("keyboard", []):
                seen += [(call.method + " button", b["text"] if isinstance(b, dict) else b) for b in row
                         if (b["text"] if isinstance(b, dict) else b) not in OWN_NAMES]
            if isinstance(markup.get("input_field_placeholder"), str):
                seen.append((call.method + " placeholder", markup["input_field_placeholder"]))
        for command in params.get("commands") or []:
            if isinstance(command, dict) and params.get("language_code", "") in ("", "zh"):
                seen.append((call.method, command.get("description", "")))
    return seen


def card(group, number: str):
    return next(m for m in group.bot_messages() if (m.text or "").startswith("🧾") and number in m.text)


def english_in(text: str) -> list[str]:
    text = TAG.sub(" ", COMMAND.sub(" ", CODE.sub(" ", text)))
    return [w for w in WORD.findall(text) if w not in ALLOWED]


async def test_a_chinese_walk_meets_no_english_word(bot):
    """The villager orders rice; the partner's Chinese group rejects one order (with its reasons,
    "Why is it rejected?" among them) and confirms another; the admin looks at partners and
    previews a promotion. Every word they read is Chinese."""
    await add_partner(bot.store, bot.clock, ADMIN, "CG-01", 501)
    partner = bot.person(501, "老张", language_code="zh-hans")
    villager = bot.person(1001, "王芳", language_code="zh-hans")
    admin = bot.person(900, "周", language_code="zh-hans")
    group = bot.double.group(GROUP_ID, "上元接单群")
    await bot.double.add_bot_to_group(group, by=partner)
    await partner.send("/bind CG-01", chat=group)

    await settle_in(villager, "城固县", "上元")
    await villager.send("/help")
    numbers = []
    for _ in range(2):
        await villager.send("/search 大米")
        await villager.tap("大米")
        await villager.tap("加入购物车")
        await villager.send("/cart")
        await villager.tap(ZH("✅ Checkout"))
        await villager.tap(ZH("✅ Confirm order"))
        numbers.append(re.search(r"RT-[0-9A-Z]{5}", last_text(villager)).group(0))
    await villager.send("/orders")
    await villager.send(f"/track {numbers[1]}")
    for command in ("/market", "/sell", "/promotions", "/language", "/phone", "/privacy"):
        await villager.send(command)
    await villager.send("谢谢")
    await villager.send_sticker()

    await partner.tap(ZH("❌ Reject"), message=card(group, numbers[0]))
    await partner.tap(ZH("✏️ Type a reason"), message=card(group, numbers[0]))
    await partner.reply("路断了", to=group.bot_messages()[-1])
    await partner.tap(ZH("✅ Confirm"), message=card(group, numbers[1]))

    await admin.send("/partners")
    for command in ("/help", "/stats", "/pending", "/partner list CG-01", "/catalog"):
        await admin.send(command)
    await partner.send("/help")
    await partner.send("/pending", chat=group)
    await admin.send("/broadcast")
    await admin.send("<b>新年大促</b> 🎉 化肥九折")
    for _step in ("English", "photo", "link"):
        await admin.tap(ZH("⏭ Skip"))
    await admin.tap(ZH("👥 Everyone"))

    strangers = [(method, text) for method, text in shown(bot.double) if english_in(text)]
    assert not strangers, f"English reached Chinese readers: {strangers[:8]}"
    assert any(ZH("Why is it rejected?") in text for _, text in shown(bot.double))
