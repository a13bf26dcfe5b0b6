"""Tests for catalog.search: typo, pinyin, Chinese substring, prefix and ranking behaviour."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from catalog.lexicon import Lexicon
from catalog.search import Hit, SearchDoc, SearchIndex, normalize

FERTILIZER = ("化肥", "Fertilizer")
TOOLS = ("农具", "Farm tools")
GRAIN = ("粮油", "Grain & oil")

DOCS = [
    SearchDoc(1, {"zh": "复合化肥 50公斤", "en": "Compound fertilizer 50 kg"}, ("化肥", "fertiliser", "NPK"), FERTILIZER),
    SearchDoc(2, {"zh": "尿素 40公斤", "en": "Urea 40 kg"}, ("氮肥", "nitrogen"), FERTILIZER),
    SearchDoc(3, {"zh": "锄头", "en": "Hoe"}, ("锄",), TOOLS),
    SearchDoc(4, {"zh": "电动喷雾器 16升", "en": "Electric sprayer 16 L"}, ("打药机",), TOOLS),
    SearchDoc(5, {"zh": "手动喷雾器", "en": "Manual sprayer"}, (), TOOLS),
    SearchDoc(6, {"zh": "东北大米 10公斤", "en": "Northeast rice 10 kg"}, ("米", "粮食"), GRAIN),
    SearchDoc(7, {"zh": "水稻种子", "en": "Rice seeds"}, ("稻谷",), ("种子", "Seeds")),
    SearchDoc(8, {"zh": "海天酱油 500毫升", "en": "Haitian soy sauce 500 ml"}, ("生抽",), ("调味品", "Condiments")),
    SearchDoc(9, {"zh": "华为手机", "en": "Huawei mobile phone"}, ("smartphone", "电话"), ("手机数码", "Phones")),
    SearchDoc(10, {"zh": "水泥 50公斤", "en": "Cement 50 kg"}, (), ("建材", "Building materials")),
    SearchDoc(11, {"zh": "化肥"}, (), FERTILIZER),
    SearchDoc(12, {"en": "Organic fertilizer 40 kg", "zh": "有机肥 40公斤"}, ("manure",), FERTILIZER),
    SearchDoc(13, {"zh": "花生油 5升", "en": "Peanut oil 5 L"}, (), GRAIN),
    # brand 中化 + 肥皂 (soap): contains "化肥" across a word boundary
    SearchDoc(14, {"zh": "中化肥皂", "en": "Sinochem soap"}, (), ("日用品", "Daily goods")),
]


@pytest.fixture(scope="module")
def index() -> SearchIndex:
    return SearchIndex.build(DOCS, lexicon=Lexicon(()))  # the engine alone; the lexicon has its own tests


def ids(hits: list[Hit]) -> list[int]:
    return [h.doc_id for h in hits]


def test_len_and_normalize(index):
    assert len(index) == 14
    assert len(SearchIndex.build([])) == 0
    assert normalize("  ＨＵＡ　Fei \n ５０ＫＧ ") == "hua fei 50kg"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("fertilzer", [12, 1, 11, 2]),  # names first (shorter name first), then the category word
        ("sprayr", [5, 4]),
        ("cemnt", [10]),
        ("Soy Sause", [8]),
    ],
)
def test_typos(index, query, expected):
    assert ids(index.search(query)) == expected


def test_british_spelling_finds_american_name(index):
    # doc 1 has the keyword "fertiliser"; doc 12 only says "fertilizer" in its name
    assert ids(index.search("fertiliser")) == [1, 12, 11, 2]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("huafei", [11, 1, 14, 2, 12]),  # name 化肥, keyword 化肥, inside a name, category 化肥
        ("feizao", [14]),
        ("niaosu", [2]),
        ("shuini", [10]),
        ("dami", [6]),  # pinyin of a part of 东北大米
        ("penwuqi", [5, 4]),  # run-together pinyin of 喷雾器, inside longer names
        ("dongpenwuqi", [5, 4]),  # dong|pen|wu|qi, matched pair by pair inside 手动喷雾器
        ("jiangyou", [8, 13, 6]),  # exact 酱油 first; "liangyou" (粮油 category) is one edit away
    ],
)
def test_pinyin(index, query, expected):
    assert ids(index.search(query)) == expected


def test_spaced_pinyin(index):
    hits = ids(index.search("hua fei"))
    assert hits[:5] == [11, 1, 14, 12, 2]
    assert set(hits[5:]) == {9, 13}  # only one syllable each: 华为, 花生


def test_run_together_pinyin_of_longer_name(index):
    assert ids(index.search("fuhehuafei"))[0] == 1


def test_wrong_homophone_character_still_matches_via_pinyin(index):
    assert ids(index.search("花肥")) == [11, 1, 14, 2, 12]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # whole name, then keyword 化肥 (doc 1's name has it inside 复合化肥), then only inside
        # a longer name, then category: a whole word beats a substring
        ("化肥", [11, 1, 14, 2, 12]),
        ("肥皂", [14]),
        ("喷雾器", [5, 4]),
        ("大米", [6]),
        ("手机", [9]),
        ("油", [13, 8, 6]),
    ],
)
def test_chinese_substrings(index, query, expected):
    assert ids(index.search(query)) == expected


def test_substring_of_longer_chinese_name_is_found(index):
    assert 1 in ids(index.search("化肥"))
    assert ids(index.search("复合化肥"))[0] == 1


def test_prefix(index):
    assert ids(index.search("fert")) == [12, 1, 11, 2]
    assert ids(index.search("sma")) == [9]


def test_case_and_width_insensitive(index):
    assert ids(index.search("ＨＵＡＦＥＩ")) == ids(index.search("huafei"))
    assert ids(index.search("FERTILIZER")) == ids(index.search("fertilizer"))
    assert ids(index.search("ＣＥＭＥＮＴ")) == [10]


@pytest.mark.parametrize(
    ("query", "expected"),
    [("smartphone", [9]), ("打药机", [4]), ("nitrogen", [2]), ("manure", [12])],
)
def test_keywords(index, query, expected):
    assert ids(index.search(query)) == expected


def test_all_words_beat_some_words(index):
    # doc 5 has the shorter name, but only doc 4 matches both words
    assert ids(index.search("electric sprayer")) == [4, 5]
    assert ids(index.search("rice seeds")) == [7, 6]
    assert ids(index.search("huawei phone")) == [9]
    hits = ids(index.search("fertilizer 40 kg"))
    assert hits[:2] == [12, 2]  # all three words (doc 2 through its category)
    assert hits[2] == 1  # fertilizer + kg


def test_all_words_beat_some_words_even_when_weaker():
    docs = [SearchDoc(1, {"en": "Rubber boots"}, (), ("Farm tools",)), SearchDoc(2, {"en": "Farm"})]
    index = SearchIndex.build(docs)
    # doc 1 matches both words, only through its category and a typo; doc 2 one word in its name
    assert ids(index.search("farm toolz")) == [1, 2]


def test_split_number_and_unit(index):
    assert ids(index.search("50kg"))[:2] == [10, 1]
    assert ids(index.search("50kg")) == ids(index.search("50 kg"))


def test_name_beats_keyword_beats_category(index):
    hits = index.search("fertilizer")
    assert ids(hits) == [12, 1, 11, 2]
    assert hits[0].score == hits[1].score > hits[2].score


def test_scores_descending_and_limit(index):
    hits = index.search("hua fei")
    assert all(a.score >= b.score for a, b in zip(hits, hits[1:]))
    assert ids(index.search("hua fei", limit=2)) == [11, 1]
    assert index.search("hua fei", limit=0) == []


def test_nothing_found_then_suggest(index):
    assert index.search("hoa") == []
    assert ids(index.suggest("hoa")) == [3]
    assert index.search("xyzzy") == []
    assert index.suggest("xyzzy") == []


@pytest.mark.parametrize("query", ["", "   ", "!!!", "？？、。", "-_-"])
def test_empty_or_punctuation_query(index, query):
    assert index.search(query) == []
    assert index.suggest(query) == []


@pytest.mark.parametrize("query", ["化肥" * 2500, "fertilizer " * 500, "x" * 5000, "hua fei " * 700])
def test_very_long_query_is_fast(index, query):
    start = time.perf_counter()
    hits = index.search(query)
    index.suggest(query)
    assert time.perf_counter() - start < 0.5
    assert isinstance(hits, list)


def test_long_query_is_capped_but_still_matches(index):
    assert ids(index.search("化肥" * 2500))[0] == 11
    assert ids(index.search("fertilizer " * 500))[:2] == [12, 1]


def test_shared_between_threads(index):
    queries = ["fertilzer", "huafei", "喷雾器", "rice seeds", "hoa", "50 kg"] * 20
    expected = [ids(index.search(q)) for q in queries]
    with ThreadPoolExecutor(max_workers=4) as pool:
        assert [ids(h) for h in pool.map(index.search, queries)] == expected


def test_docs_without_names_or_with_only_extra(index):
    extra_only = SearchIndex.build([SearchDoc(7, {}, (), ("农具", "Tools")), SearchDoc(8, {"en": "Hoe"})])
    assert ids(extra_only.search("tools")) == [7]
    assert ids(extra_only.search("hoe")) == [8]


# -- the shipped lexicon, word segmentation and head nouns (a supplier's bare list: no keywords) --

BARE = [
    SearchDoc(21, {"zh": "土豆种薯", "en": "Seed potatoes"}),
    SearchDoc(22, {"zh": "玉米种子 郑单958 2公斤"}),
    SearchDoc(23, {"zh": "杂交水稻种子 1公斤"}),
    SearchDoc(24, {"zh": "电动喷雾器 16升"}),
    SearchDoc(25, {"zh": "手机壳", "en": "Phone case"}),
    SearchDoc(26, {"zh": "手机钢化膜"}),
    SearchDoc(27, {"zh": "4G 老人手机 大字大声"}),
    SearchDoc(28, {"zh": "红米 Note 13 5G", "en": "Redmi Note 13 5G"}),
    SearchDoc(29, {"zh": "高效氯氰菊酯 4.5% 100毫升"}),
    SearchDoc(30, {"zh": "小麦种子 济麦22"}),
    SearchDoc(31, {"zh": "复合肥 50公斤"}),
    SearchDoc(32, {"zh": "草甘膦 41% 1升", "en": "Glyphosate 41% 1 L"}),
    SearchDoc(33, {"zh": "心相印 卷纸 10卷"}),
    SearchDoc(34, {"zh": "复合管"}),
]


@pytest.fixture(scope="module")
def bare() -> SearchIndex:
    return SearchIndex.build(BARE)  # with the shipped lexicon, catalog/data/synonyms.csv


@pytest.mark.parametrize(
    ("query", "expected"),
    [("洋芋", 21), ("马铃薯", 21), ("苞谷", 22), ("打药机", 24), ("洋碱", None), ("手纸", 33),
     ("weedkiller", 32), ("除草剂", 32), ("杀虫剂", 29)],
)
def test_dialect_and_everyday_names_find_the_shops_name(bare, query, expected):
    found = ids(bare.search(query))
    assert (found[0] if found else None) == expected


def test_a_wrong_homophone_after_a_known_word_still_matches(bare):
    # 杀虫济 is cut into 杀虫 + 济; the lone 济 is read with its neighbour (虫济 = chongji), so
    # it is not taken for the 济 of 济麦22
    assert ids(bare.search("杀虫济"))[:1] == [29]
    assert ids(bare.search("复合费"))[:2] == [31, 34]  # 复合|费: 合费 (hefei) is in 复合肥, not in 复合管


def test_head_noun_ranks_the_product_above_its_accessories(bare):
    found = ids(bare.search("手机"))
    assert set(found[:2]) == {27, 28}  # a phone: by its name, by the lexicon (红米 is a phone)
    assert found.index(25) > 1 and found.index(26) > 1  # a case, a screen protector
    engine = SearchIndex.build(BARE, lexicon=Lexicon(()))
    assert ids(engine.search("手机"))[0] == 27  # 手机 is the head of 老人手机, not of 手机壳


def test_query_is_segmented_into_words():
    from catalog.lexicon import heads, segment
    assert segment("包谷种子") == ("包谷", "种子")
    assert heads("老人手机") == ("老人手机", "手机")
    assert heads("手机壳") == ("手机壳", "壳")
    # 包谷|种子, not the bigrams 包谷, 谷种, 种子: 谷种 (rice seed) does not pull 水稻种子 ahead
    index = SearchIndex.build(BARE)
    assert ids(index.search("包谷种子"))[0] == 22


def test_lexicon_gives_head_words_strongly_and_the_rest_weakly():
    lexicon = Lexicon([("手机", "老人手机"), ("电话", "手机"), ("洋芋", "土豆")])
    assert lexicon.words_for(["4G 老人手机"]) == ({"手机", "电话"}, set())  # chained once
    assert lexicon.words_for(["手机壳"]) == (set(), {"电话"})
    assert lexicon.words_for(["土豆种薯"]) == (set(), {"洋芋"})


def test_shipped_lexicon_loads_and_skips_comments():
    from catalog.lexicon import Lexicon as L
    lexicon = L.load()
    assert len(lexicon) > 150
    assert "洋芋" in lexicon.words_for(["土豆"])[0]
    assert not any(word.startswith("#") for pair in lexicon.words_for(["化肥", "手机"]) for word in pair)


def test_a_unit_of_measure_is_not_a_product_word():
    index = SearchIndex.build([SearchDoc(1, {"zh": "公牛 插线板 3米"}), SearchDoc(2, {"zh": "东北大米 10公斤"})],
                              lexicon=Lexicon(()))
    assert ids(index.search("米")) == [2, 1]  # rice first; the 米 of 3米 is metres
    assert ids(index.search("3米"))[0] == 1
