"""The author's published lists (posts.md §7.1, post 4677 §1, §2, §5), for scoring by code.

These are his words, quoted, never our measurements: the 50 smallest-norm words of his Baidu
Baike vectors with and without the weight cap, his nine analogy queries with their top 6, and
the first words of two of his four keyword lists (posts.md gives only those).
"""

from __future__ import annotations

#: Post 4677 §1: the 50 smallest norms, ascending, by method (his Baike vectors, 128-d).
SMALLEST_NORMS = {
    "simpler_glove_notrunc": (
        "。 ， 的 和 同样 也 1 3 并且 另外 同时 是 2 6 总之 在 以及 5 因此 4 "
        "7 8 等等 又 并 ； 与此同时 然而 当中 事实上 显然 这样 所以 例如 还 当然 就是 这些 而 因而 "
        "此外 ） 便是 即使 比如 因为 由此可见 一 有 即"
    ).split(),
    "simpler_glove_trunc": (
        "。 ， 总之 同样 与此同时 除此之外 当中 便是 显然 无论是 另外 不但 事实上 由此可见 即便 "
        "原本 先是 其次 后者 本来 原先 起初 为此 另一个 其二 值得一提 看出 最初 或是 基本上 "
        "另 从前 做为 自从 称之为 诸如 现今 那时 却是 如果说 由此 的确 另一方面 其后 之外 在内 "
        "当然 前者 之所以 此外"
    ).split(),
}

#: Post 4677 §2: a + b − c → his top 6 by cosine (the first is the answer scored, E7.5).
ANALOGIES = {
    ("机场", "火车", "飞机"): ["火车站", "直达", "东站", "高铁站", "南站", "客运站"],
    ("国王", "女人", "男人"): ["二世", "一世", "王后", "王国", "三世", "四世"],
    ("北京", "英国", "中国"): ["伦敦", "巴黎", "寓所", "搬到", "爱丁堡", "布鲁塞尔"],
    ("伦敦", "美国", "英国"): ["纽约", "洛杉矶", "伦敦", "芝加哥", "旧金山", "亚特兰大"],
    ("广州", "浙江", "广东"): ["杭州", "宁波", "嘉兴", "金华", "湖州", "上海"],
    ("广州", "江苏", "广东"): ["常州", "无锡", "苏州", "南京", "镇江", "扬州"],
    ("中学", "大学生", "大学"): ["中学生", "中小学生", "青少年", "电子设计", "村官", "二中"],
    ("人民币", "美国", "中国"): ["美元", "港币", "约合", "美金", "贬值", "万美元"],
    ("兵马俑", "敦煌", "西安"): ["莫高窟", "卷子", "写本", "藏经洞", "精美绝伦", "千佛洞"],
}

#: Post 4677 §5: the head of his keyword lists, for the two sentences posts.md quotes them for.
#: A list applies to a sentence that contains its first word (our sentences are on his topics,
#: not his text, which posts.md does not give).
KEYWORDS = (
    ["督察组", "限产", "督查组", "动员会", "关停"],
    ["流星雨", "火流星", "北半球", "天顶", "观测"],
)


def keyword_reference(sentence: str) -> list[str] | None:
    """The author's keyword list that applies to ``sentence``, or None."""
    for words in KEYWORDS:
        if words[0] in sentence:
            return words
    return None
