"""Benchmark for catalog.search on a synthetic mixed Chinese/English catalog.

Run from the repository root:  python bench/search.py [--products 100000] [--queries 300]
"""

from __future__ import annotations

import argparse
import gc
import random
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pypinyin import Style, lazy_pinyin  # noqa: E402
from rapidfuzz import process  # noqa: E402

from catalog.search import SearchDoc, SearchIndex  # noqa: E402

# category: (zh, en), products: (zh, en, keywords)
CATALOG = {
    ("化肥", "Fertilizer"): [
        ("复合肥", "Compound fertilizer", ("化肥", "fertiliser", "NPK")),
        ("尿素", "Urea", ("氮肥", "nitrogen")),
        ("磷酸二铵", "Diammonium phosphate", ("DAP", "磷肥")),
        ("钾肥", "Potash fertilizer", ("potassium", "氯化钾")),
        ("有机肥", "Organic fertilizer", ("manure", "农家肥")),
        ("叶面肥", "Foliar fertilizer", ("spray", "微肥")),
        ("水溶肥", "Water soluble fertilizer", ("滴灌",)),
        ("过磷酸钙", "Superphosphate", ("磷肥",)),
    ],
    ("农药", "Pesticide"): [
        ("除草剂", "Herbicide", ("weed killer", "草甘膦")),
        ("杀虫剂", "Insecticide", ("bug spray", "灭虫")),
        ("杀菌剂", "Fungicide", ("病害",)),
        ("吡虫啉", "Imidacloprid", ("蚜虫", "aphid")),
        ("阿维菌素", "Abamectin", ("红蜘蛛",)),
        ("多菌灵", "Carbendazim", ("杀菌",)),
    ],
    ("种子", "Seeds"): [
        ("玉米种子", "Corn seeds", ("maize", "苞谷")),
        ("水稻种子", "Rice seeds", ("稻谷", "paddy")),
        ("小麦种子", "Wheat seeds", ("麦种",)),
        ("大豆种子", "Soybean seeds", ("黄豆",)),
        ("西瓜种子", "Watermelon seeds", ("瓜种",)),
        ("辣椒种子", "Chili pepper seeds", ("菜种",)),
        ("白菜种子", "Cabbage seeds", ("菜种",)),
        ("番茄种子", "Tomato seeds", ("西红柿",)),
    ],
    ("农具", "Farm tools"): [
        ("锄头", "Hoe", ("铲",)),
        ("镰刀", "Sickle", ("割草",)),
        ("铁锹", "Shovel", ("spade", "铁铲")),
        ("电动喷雾器", "Electric sprayer", ("打药机", "knapsack sprayer")),
        ("手动喷雾器", "Manual sprayer", ("打药桶",)),
        ("水管", "Water hose", ("hose pipe", "灌溉")),
        ("抽水泵", "Water pump", ("水泵",)),
        ("微耕机", "Mini tiller", ("旋耕机", "cultivator")),
        ("地膜", "Mulch film", ("薄膜", "plastic film")),
    ],
    ("粮油", "Grain & oil"): [
        ("大米", "Rice", ("米", "粳米")),
        ("面粉", "Wheat flour", ("flour", "白面")),
        ("食用油", "Cooking oil", ("oil", "调和油")),
        ("花生油", "Peanut oil", ("groundnut oil",)),
        ("菜籽油", "Rapeseed oil", ("canola",)),
        ("挂面", "Dried noodles", ("面条", "noodles")),
        ("小米", "Millet", ("谷子",)),
    ],
    ("调味品", "Condiments"): [
        ("酱油", "Soy sauce", ("生抽", "老抽")),
        ("陈醋", "Vinegar", ("醋",)),
        ("食盐", "Salt", ("盐", "iodized salt")),
        ("白糖", "White sugar", ("sugar", "砂糖")),
        ("味精", "MSG", ("monosodium glutamate",)),
        ("辣椒酱", "Chili sauce", ("hot sauce",)),
        ("花椒", "Sichuan pepper", ("麻椒",)),
    ],
    ("饮料", "Drinks"): [
        ("矿泉水", "Mineral water", ("water", "纯净水")),
        ("啤酒", "Beer", ("lager",)),
        ("白酒", "Baijiu", ("liquor", "烧酒")),
        ("绿茶", "Green tea", ("tea", "茶叶")),
        ("可乐", "Cola", ("soda", "汽水")),
        ("牛奶", "Milk", ("纯牛奶", "dairy")),
    ],
    ("日用品", "Daily goods"): [
        ("洗衣粉", "Washing powder", ("detergent", "洗衣")),
        ("肥皂", "Soap", ("香皂",)),
        ("牙膏", "Toothpaste", ("牙刷",)),
        ("卫生纸", "Toilet paper", ("纸巾", "tissue")),
        ("洗发水", "Shampoo", ("洗头膏",)),
        ("蚊香", "Mosquito coil", ("驱蚊",)),
    ],
    ("手机数码", "Phones & electronics"): [
        ("手机", "Mobile phone", ("smartphone", "电话")),
        ("充电器", "Charger", ("charging", "快充")),
        ("数据线", "USB cable", ("cable", "充电线")),
        ("电池", "Battery", ("batteries", "干电池")),
        ("手电筒", "Flashlight", ("torch", "电筒")),
        ("收音机", "Radio", ("广播",)),
    ],
    ("建材", "Building materials"): [
        ("水泥", "Cement", ("洋灰", "portland")),
        ("钢筋", "Rebar", ("steel bar",)),
        ("瓷砖", "Ceramic tile", ("tiles", "地砖")),
        ("油漆", "Paint", ("涂料",)),
        ("铁丝", "Iron wire", ("wire", "铁线")),
        ("防水涂料", "Waterproof coating", ("防漏",)),
    ],
    ("饲料", "Animal feed"): [
        ("猪饲料", "Pig feed", ("猪料", "swine")),
        ("鸡饲料", "Chicken feed", ("鸡料", "poultry")),
        ("鱼饲料", "Fish feed", ("鱼料",)),
        ("牛饲料", "Cattle feed", ("牛料",)),
        ("兽药", "Veterinary medicine", ("vet",)),
    ],
    ("零食", "Snacks"): [
        ("方便面", "Instant noodles", ("泡面", "ramen")),
        ("饼干", "Biscuits", ("cookies",)),
        ("瓜子", "Sunflower seeds", ("葵花籽",)),
        ("火腿肠", "Ham sausage", ("香肠",)),
        ("辣条", "Spicy strips", ("latiao",)),
    ],
}
BRANDS = [
    ("金丰", "Jinfeng"), ("史丹利", "Stanley"), ("中化", "Sinochem"), ("云天化", "Yuntianhua"),
    ("鲁西", "Luxi"), ("心连心", "Xinlianxin"), ("金龙鱼", "Arawana"), ("福临门", "Fortune"),
    ("海天", "Haitian"), ("李锦记", "Lee Kum Kee"), ("康师傅", "Master Kong"), ("农夫山泉", "Nongfu Spring"),
    ("华为", "Huawei"), ("小米", "Xiaomi"), ("南孚", "Nanfu"), ("立白", "Liby"), ("雕牌", "Diaopai"),
    ("海螺", "Conch"), ("正大", "CP"), ("通威", "Tongwei"), ("隆平", "Longping"), ("先正达", "Syngenta"),
    ("大北农", "Dabeinong"), ("红旗", "Hongqi"), ("丰收", "Fengshou"), ("绿源", "Lvyuan"),
    ("新希望", "New Hope"), ("伊利", "Yili"), ("蒙牛", "Mengniu"), ("青岛", "Tsingtao"), ("燕京", "Yanjing"),
    ("双汇", "Shuanghui"), ("白象", "Baixiang"), ("今麦郎", "Jinmailang"), ("老干妈", "Laoganma"),
    ("太阳", "Sun"), ("长城", "Great Wall"), ("东方红", "Dongfanghong"), ("五丰", "Wufeng"), ("山花", "Shanhua"),
]
MODIFIERS = [
    ("有机", "Organic"), ("高效", "High-efficiency"), ("加厚", "Heavy-duty"), ("优质", "Premium"),
    ("特级", "Grade-A"), ("新款", "New"), ("家用", "Household"), ("大号", "Large"), ("小号", "Small"),
    ("进口", "Imported"), ("天然", "Natural"), ("精选", "Selected"), ("农用", "Farm-use"), ("耐用", "Durable"),
]
SPECS = [
    ("50公斤", "50 kg"), ("40公斤", "40 kg"), ("25公斤", "25 kg"), ("10公斤", "10 kg"), ("5公斤", "5 kg"),
    ("500克", "500 g"), ("1升", "1 L"), ("5升", "5 L"), ("16升", "16 L"), ("500毫升", "500 ml"),
    ("1箱", "1 box"), ("12瓶", "12 bottles"), ("24袋", "24 bags"), ("1把", "1 pc"), ("100米", "100 m"),
]


def make_catalog(n: int, seed: int = 42) -> list[SearchDoc]:
    rng = random.Random(seed)
    products = [(cat, p) for cat, items in CATALOG.items() for p in items]
    docs = []
    for i in range(n):
        (cat_zh, cat_en), (noun_zh, noun_en, keywords) = rng.choice(products)
        brand_zh, brand_en = rng.choice(BRANDS)
        mod_zh, mod_en = rng.choice(MODIFIERS) if rng.random() < 0.4 else ("", "")
        spec_zh, spec_en = rng.choice(SPECS)
        model = f" {rng.choice('ABCDEFGHJKMNPRSTXYZ')}{rng.randint(1, 999)}" if rng.random() < 0.25 else ""
        zh = f"{brand_zh}{mod_zh}{noun_zh} {spec_zh}{model}"
        en = " ".join(w for w in (brand_en, mod_en, noun_en, spec_en) if w) + model
        kind = rng.random()
        names = {"zh": zh, "en": en} if kind < 0.5 else {"zh": zh} if kind < 0.8 else {"en": en}
        docs.append(SearchDoc(i + 1, names, keywords, (cat_zh, cat_en)))
    return docs


def typo(word: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(word) - 1)
    op = rng.choice("dist")
    if op == "d":
        return word[:i] + word[i + 1 :]
    if op == "i":
        return word[:i] + rng.choice("aeiourst") + word[i:]
    if op == "s":
        return word[:i] + rng.choice([c for c in "aeiourstnl" if c != word[i]]) + word[i + 1 :]
    return word[: i - 1] + word[i] + word[i - 1] + word[i + 1 :]


def make_queries(docs: list[SearchDoc], n: int, seed: int = 7) -> dict[str, list[str]]:
    rng = random.Random(seed)
    en_names = [d.names["en"] for d in docs if "en" in d.names]
    zh_names = [d.names["zh"] for d in docs if "zh" in d.names]
    queries: dict[str, list[str]] = {"typo": [], "pinyin": [], "chinese": [], "english": []}
    for _ in range(n):
        words = [w for w in rng.choice(en_names).lower().split() if w.isalpha()]
        long_words = [w for w in words if len(w) >= 5] or ["fertilizer"]
        q = typo(rng.choice(long_words), rng)
        queries["typo"].append(q if rng.random() < 0.6 else f"{rng.choice(words)} {q}")

        run = rng.choice(zh_names).split()[0]
        start = rng.randrange(0, max(1, len(run) - 3))
        chunk = run[start : start + rng.randint(2, 4)]
        syllables = lazy_pinyin(chunk, style=Style.NORMAL)
        queries["pinyin"].append("".join(syllables) if rng.random() < 0.5 else " ".join(syllables))

        run = rng.choice(zh_names).split()[0]
        start = rng.randrange(0, max(1, len(run) - 1))
        queries["chinese"].append(run[start : start + rng.randint(2, 4)])

        words = rng.choice(en_names).split()
        start = rng.randrange(len(words))
        queries["english"].append(" ".join(words[start : start + rng.randint(1, 2)]))
    return queries


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return f"p50 {statistics.median(ordered):6.2f}  p99 {p99:6.2f}  max {ordered[-1]:6.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300, help="queries per kind")
    parser.add_argument("--baseline", type=int, default=20, help="queries for the brute-force baseline")
    args = parser.parse_args()

    docs = make_catalog(args.products)
    queries = make_queries(docs, args.queries)
    gc.collect()
    rss_before = rss_mb()
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    index = SearchIndex.build(docs)
    build_s = time.perf_counter() - start
    gc.collect()
    peak_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"products: {len(index)}  build: {build_s:.2f} s  "
          f"RSS growth: {rss_mb() - rss_before:.0f} MB  peak RSS growth: {peak_after - peak_before:.0f} MB")

    for query in ("fertilizer", "huafei"):  # warm-up (first pypinyin / rapidfuzz calls)
        index.search(query)
    print(f"latency per query ({args.queries} queries per kind, limit 20):")
    for kind, qs in queries.items():
        samples, empty = [], 0
        for q in qs:
            t0 = time.perf_counter()
            hits = index.search(q)
            samples.append((time.perf_counter() - t0) * 1000)
            empty += not hits
        print(f"  {kind:<8} {percentiles(samples)}   (no result: {empty})")

    names = [" ".join(d.names.values()) for d in docs]
    baseline = []
    for q in queries["typo"][: args.baseline]:
        t0 = time.perf_counter()
        process.extract(q, names, limit=20)
        baseline.append((time.perf_counter() - t0) * 1000)
    print(f"  baseline: rapidfuzz process.extract over all {len(names)} names, "
          f"{len(baseline)} typo queries: p50 {statistics.median(baseline):.1f} ms")
    print("target: p99 <= 10 ms")


if __name__ == "__main__":
    main()
