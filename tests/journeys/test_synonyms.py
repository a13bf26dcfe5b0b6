"""Words admins teach the search from chat (/synonym, a word,means CSV file), played by an admin
(telegram id 900) and villagers: the villager's word then finds the product; a villager may not
teach words; /stats suggests ready-to-copy /synonym lines from searches that found nothing."""

from __future__ import annotations

from datetime import datetime, timezone

from chat import last_text, settle_in
from handlers.stats import MAX_TEXT, report_text, utf16_len
from locales import translator
from services import stats
from services.stats import Figure, Place, Places, Report, VillagerFigures, Waiting, Windows
from store.models import Synonym
from support.store import count


def button_texts(message) -> list[str]:
    return [b.text for row in message.buttons for b in row]


async def finds(villager, words: str, name: str) -> bool:
    await villager.send(words)
    return any(name in text for text in button_texts(villager.chat.last_bot_message()))


async def test_an_admin_teaches_a_word_and_a_villager_finds_the_product_by_it(bot):
    admin = bot.person(900, "Admin", language_code="en")
    await admin.send("/start")
    wang = bot.person(1001, "Wang", language_code="en")
    await settle_in(wang)
    assert not await finds(wang, "白疙瘩", "Urea")

    await wang.send("/synonym 白疙瘩 尿素")  # not an admin
    assert last_text(wang) == "🔒 Only admins can do this."
    assert await count(bot.store, Synonym) == 0

    await admin.send("/synonym")
    assert last_text(admin).startswith("📖 No words taught yet.")
    await admin.send("/synonym 白疙瘩 榴莲")
    assert last_text(admin).startswith("The catalog finds nothing for “榴莲”")
    await admin.send("/synonym 白疙瘩 白疙瘩")
    assert last_text(admin).startswith("The two words are the same.")
    await admin.send("/synonym 白疙瘩")
    assert last_text(admin).startswith("Usage: /synonym 洋芋 土豆")

    await admin.send("/synonym 白疙瘩 尿素")
    assert last_text(admin) == "✅ A search for “白疙瘩” now also finds “尿素”."
    assert await finds(wang, "白疙瘩", "Urea")
    await admin.send("/synonym")
    assert last_text(admin) == "📖 1 word taught to the search:\n• 白疙瘩 → 尿素"

    await admin.send("/synonym remove 白疙瘩")
    assert last_text(admin) == "🗑 “白疙瘩” is forgotten."
    assert not await finds(wang, "白疙瘩", "Urea")
    await admin.send("/synonym remove 白疙瘩")
    assert last_text(admin) == "🤔 “白疙瘩” is not a word taught to the search."
    await admin.send("/help")
    assert "📖 /synonym — Teach the search a villagers' word, e.g. /synonym 洋芋 土豆" in last_text(admin)


async def test_an_admin_teaches_words_with_a_csv_file_all_or_none(bot):
    admin = bot.person(900, "Admin", language_code="en")
    await admin.send("/start")
    wang = bot.person(1001, "Wang", language_code="en")
    await settle_in(wang)

    await admin.send_document("words.csv", "word,means\n白疙瘩,尿素\n榴莲果,榴莲\n".encode(), mime_type="text/csv")
    assert last_text(admin) == "❌ 1 bad row; nothing was imported:\nline 3: The catalog finds nothing for “榴莲”: " \
                               "the second word must be what a product is called."
    assert await count(bot.store, Synonym) == 0

    await admin.send_document("words.csv", "word,means\n白疙瘩,尿素\n".encode(), mime_type="text/csv")
    assert last_text(admin) == "✅ Words imported: 1 added, 0 changed."
    assert await finds(wang, "白疙瘩", "Urea")

    await wang.send_document("words.csv", "word,means\n小白粒,尿素\n".encode(), mime_type="text/csv")
    assert last_text(wang) == "🔒 Only admins can do this."
    assert await count(bot.store, Synonym) == 1


async def test_stats_suggests_a_synonym_for_a_miss_and_the_admin_copies_it(bot):
    admin = bot.person(900, "Admin", language_code="en")
    await admin.send("/start")
    wang, zhao = bot.person(1001, "Wang", language_code="en"), bot.person(1002, "Zhao", language_code="en")
    for villager in (wang, zhao):
        await settle_in(villager)
        await villager.send("肥田粉")
        assert last_text(villager).startswith("😕 Nothing found for “肥田粉”.")

    await admin.send("/stats")
    report = admin.chat.bot_messages()[-2].text
    lines = report.splitlines()
    at = lines.index("• “肥田粉” × 2 (2 people)")
    suggestion = lines[at + 1].strip()
    assert suggestion.startswith("/synonym 肥田粉 ")
    assert "💡 Meant a product we have? Copy a /synonym line and send it." in lines
    assert "<code>/synonym 肥田粉 " in admin.chat.bot_messages()[-2].html

    await admin.send(suggestion)
    assert last_text(admin).startswith("✅ A search for “肥田粉” now also finds")
    await wang.send("肥田粉")
    assert last_text(wang).startswith("🔍 Found for “肥田粉”")

    await admin.send("/stats")  # found now: no longer suggested
    assert "/synonym 肥田粉" not in admin.chat.bot_messages()[-2].text


def test_a_report_with_suggestions_still_fits_in_one_message():
    figures = Windows(Figure(1, 100), Figure(2, 200), Figure(3, 300))
    names = {"en": "A Village Service Center With A Remarkably Long Name Indeed " * 2}
    places = Places([Place(i, names, f"LONG-{i:02d}", figures) for i in range(10)])
    misses = stats.Misses([stats.Miss(f"{i:02d}" + "很长的一个没找到的词" * 2, 9, 9) for i in range(10)])
    suggested = {m.term: "非常长的一个商品名字也很长" for m in misses.top}
    report = Report(now=datetime(2026, 11, 11, 2, tzinfo=timezone.utc), timezone="Asia/Shanghai", orders=figures,
                    counties=places, centers=places, produce=stats.ProduceSales([]),
                    villagers=VillagerFigures(1, 2, 3, []), waiting=Waiting(0, []), misses=misses, daily=[])
    text = report_text(translator("en"), report, suggested)
    assert utf16_len(text) <= MAX_TEXT
    assert f"<code>/synonym {misses.top[0].term} 非常长的一个商品名字也很长</code>" in text
