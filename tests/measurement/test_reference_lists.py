"""Lists as files: the checks that refuse broken ones, JavaScript patterns in Python, data-centre ranges, countries."""

from __future__ import annotations

import ipaddress
import json
import re

import pytest

from podsponsor.measurement import geo
from podsponsor.measurement.classify import Classifier, DatacenterRange, FirstMatch, PatternEntry, ReferenceLists
from podsponsor.measurement.exceptions import ListFormatError
from podsponsor.measurement.jsregex import UnsupportedPattern, compile_js, literal_gate, pattern_gates, to_python
from podsponsor.measurement.lists import FILE_NAMES, PATTERN_KINDS, ListFile, parse
from tests.measurement.reference_data import entries, shared_classifier, shared_parsed


def _refusal(kind: str, content: str) -> ListFormatError:
    with pytest.raises(ListFormatError) as caught:
        parse(ListFile(kind, "test", content.encode()))
    return caught.value


# JavaScript patterns -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "matches", "misses"),
    [
        (r"^Overcast\/\d", ["Overcast/3"], ["overcast/3", "XOvercast/3"]),
        (r"\d", ["7"], ["\u0663"]),  # JavaScript's \d is ASCII: an Arabic-Indic three is no digit
        (r"a\sb", ["a b", "a\u00a0b", "a\u3000b"], ["ab"]),  # JavaScript's \s is Unicode whitespace
        (r"^x\S$", ["xy"], ["x\u00a0"]),
        (r"a[^]b", ["a\nb", "a-b"], ["ab"]),
        (r"a[]b", [], ["ab", "a]b"]),
        (r"[[a]x", ["[x", "ax"], ["x"]),
        (r"Foo(?i)bar|baz", ["FooBAR", "BAZ"], ["FOObar"]),
        (r"^(?i)podcast", ["PODCAST/1"], ["my podcast"]),
        (r"^(?<app>Pod)(cast)s", ["Podcasts"], ["Pods"]),
        (r"v\u0031\x2e", ["v1."], ["v1x"]),
    ],
)
def test_javascript_patterns_mean_the_same_in_python(pattern: str, matches: list[str], misses: list[str]) -> None:
    compiled = compile_js(pattern)
    assert [text for text in matches if not compiled.search(text)] == []
    assert [text for text in misses if compiled.search(text)] == []


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        (r"(a)\1", "backreference"),
        (r"(?<n>a)\k<n>", "named backreferences"),
        (r"(?u)a", "inline flag"),
        ("abc\\", "lone backslash"),
        ("[abc", "not closed"),
    ],
)
def test_patterns_python_cannot_run_faithfully_are_refused(pattern: str, reason: str) -> None:
    with pytest.raises(UnsupportedPattern, match=reason):
        to_python(pattern)


@pytest.mark.parametrize(
    ("branch", "gate"),
    [
        ("^Overcast/", ("prefix", "Overcast/")),
        (r"^Podcasts?\/\d", ("prefix", "Podcast")),
        (".*Neevabot", ("contains", "Neevabot")),
        (r"^[Pp]odcast Addict", ("contains", "odcast Addict")),
        (r"(iPhone|iPad).* \[FBAN", ("contains", " [FBAN")),
        (r"^a{2}bc", ("contains", "bc")),
        (r"\u0050odLP", ("contains", "PodLP")),
        ("^(?i)abc", None),
        (r"\d+", None),
    ],
)
def test_literal_gates_take_only_text_a_match_must_contain(branch: str, gate: tuple[str, str] | None) -> None:
    assert literal_gate(branch) == gate


@pytest.mark.parametrize("kind", PATTERN_KINDS)
def test_gated_first_match_equals_trying_every_pattern_in_order(kind: str) -> None:
    """The gates only skip patterns that cannot match: on every example of every list, and variants of them, the
    answer is the one trying each pattern in turn gives."""
    listed = [PatternEntry(e["name"], e["pattern"], e.get("category")) for e in entries(kind)]
    texts = {example for file in PATTERN_KINDS for e in entries(file) for example in e.get("examples", [])}
    texts |= {variant for text in list(texts) for variant in (text[1:], text.lower(), "x" + text, text + " bot")}
    first = FirstMatch(listed)
    compiled = [(entry, compile_js(entry.pattern)) for entry in listed]
    differing = [
        text
        for text in sorted(texts)
        if first.first(text) != next((entry for entry, rx in compiled if rx.search(text)), None)
    ]
    assert differing == []


@pytest.mark.parametrize(
    ("pattern", "gates"),
    [
        ("^(PodcastDL|podcastdl)/", [("prefix", "PodcastDL"), ("prefix", "podcastdl")]),
        ("(^Adswizz-podscribe/| Podscribe/)", [("prefix", "Adswizz-podscribe/"), ("contains", " Podscribe/")]),
        (r"^Overcast/|(iTMS|itms)", [("prefix", "Overcast/"), ("contains", "iTMS"), ("contains", "itms")]),
        ("^(Foo|Ba)?Cast", [("contains", "Cast")]),
        (r"(\d+|Player)", None),
        ("Foo(?i)bar|baz", None),
    ],
)
def test_pattern_gates_open_leading_groups_of_alternatives(pattern: str, gates: list[tuple[str, str]] | None) -> None:
    assert pattern_gates(pattern) == gates


def test_an_inline_flag_reaching_into_later_alternatives_keeps_them_tried() -> None:
    first = FirstMatch([PatternEntry("Flagged", "Foo(?i)bar|baz"), PatternEntry("Other", "BAZ")])
    assert (first.first("xBAZ") or PatternEntry("none", "")).name == "Flagged"
    assert (first.first("FOObar") or PatternEntry("none", "")).name == "none"


# Checks on load ------------------------------------------------------------------------------------------------------


def test_the_shared_lists_pass_every_check() -> None:
    parsed = shared_parsed()
    assert set(parsed) == set(FILE_NAMES)
    assert {kind: len(p.entries) for kind, p in parsed.items()} == {
        "bots": 295,
        "apps": 559,
        "libraries": 58,
        "browsers": 11,
        "devices": 20,
        "referrers": 69,
        "prefixes": 29,
        "datacenters": 3429,
    }
    first_bot = parsed["bots"].entries[0]
    assert first_bot.position == 0
    assert first_bot.name == entries("bots")[0]["name"]
    assert first_bot.attributes.get("examples") == entries("bots")[0].get("examples")
    assert {e.category for e in parsed["libraries"].entries} == {None, "bot"}
    assert parsed["prefixes"].entries[0].attributes["iab"] == "0"


def test_a_file_that_is_not_json_is_refused_with_its_line() -> None:
    refusal = _refusal("bots", '{"entries": [\n  {"name": "x",, }\n]}')
    assert refusal.errors is not None
    assert refusal.errors[0]["line"] == 2
    assert "nothing was loaded" in refusal.detail


def test_every_bad_entry_is_named_and_nothing_is_loaded() -> None:
    document = {
        "entries": [
            {"name": "Good", "pattern": "^Good/"},
            {"name": "", "pattern": "^Empty/"},
            {"name": "Broken", "pattern": "^(unclosed"},
            {"name": "Lookbehind", "pattern": "(?<=a+)b"},
            {"name": "Backref", "pattern": r"(a)\1"},
            {"name": "NoPattern"},
            "not an object",
        ]
    }
    refusal = _refusal("apps", json.dumps(document))
    assert refusal.errors is not None
    assert [error["field"] for error in refusal.errors] == [f"apps.json entry {n}" for n in range(1, 7)]
    assert "cannot be used" in refusal.errors[1]["reason"]
    assert "backreference" in refusal.errors[3]["reason"]


@pytest.mark.parametrize(
    ("kind", "content", "reason"),
    [
        ("devices", "[]", "'entries' array"),
        ("devices", '{"entries": []}', "no entries"),
        ("prefixes", "{}", "array of prefix objects"),
        ("prefixes", '[{"prefixname": "No pattern"}]', "'prefixpattern'"),
        ("referrers", '{"entries": [{"name": "x", "pattern": "^x", "category": 5}]}', "'category'"),
    ],
)
def test_a_file_of_the_wrong_shape_is_refused(kind: str, content: str, reason: str) -> None:
    refusal = _refusal(kind, content)
    assert refusal.errors is not None
    assert reason in refusal.errors[0]["reason"]


def test_data_centre_rows_are_checked_line_by_line() -> None:
    content = "\n".join(
        [
            "1.0.0.0,1.0.0.255,Good,https://good.example",
            "2.0.0.0,1.0.0.0,Backwards,",
            "3.0.0.0,3.0.0.x,Not an address,",
            "4.0.0.0,4.0.0.255",
            "5.0.0.0,5.0.0.255,,",
            "1.0.0.128,1.0.1.0,Overlapping,",
        ]
    )
    refusal = _refusal("datacenters", content)
    assert refusal.errors is not None
    assert [(error["line"], error["reason"]) for error in refusal.errors] == [
        (2, "the range starts after it ends"),
        (3, "'3.0.0.0' to '3.0.0.x' is not an IPv4 range"),
        (4, "expected start,end,provider[,url]"),
        (5, "the provider is empty"),
        (6, "overlaps the range on line 1"),
    ]


def test_data_centre_rows_are_kept_sorted_with_their_url() -> None:
    parsed = parse(
        ListFile("datacenters", "t", b"9.0.0.0,9.0.0.9,Later,\n\n1.0.0.0,1.0.0.9,Earlier,https://e.example\n")
    )
    assert [(e.position, e.name, e.range_start) for e in parsed.entries] == [
        (0, "Earlier", 16777216),
        (1, "Later", 150994944),
    ]
    assert parsed.entries[0].attributes == {"url": "https://e.example"}


# Data centres and countries ------------------------------------------------------------------------------------------


def _address(number: int) -> str:
    return str(ipaddress.IPv4Address(number))


def test_the_first_ipcat_range_at_its_edges() -> None:
    classifier = shared_classifier()
    assert classifier.is_datacenter("3.0.0.0") == "Amazon AWS"
    assert classifier.is_datacenter("3.1.255.255") == "Amazon AWS"
    assert classifier.is_datacenter("2.255.255.255") is None
    assert classifier.is_datacenter("3.2.0.0") is None


def test_every_ipcat_range_holds_its_first_and_last_address_and_not_the_next() -> None:
    classifier = shared_classifier()
    ranges = [(e.range_start or 0, e.range_end or 0, e.name) for e in shared_parsed()["datacenters"].entries]
    starts = {start for start, _, _ in ranges}
    wrong = []
    for start, end, provider in ranges:
        if classifier.is_datacenter(_address(start)) != provider or classifier.is_datacenter(_address(end)) != provider:
            wrong.append(f"{_address(start)}-{_address(end)} {provider}")
        if end + 1 not in starts and end < 2**32 - 1 and classifier.is_datacenter(_address(end + 1)) is not None:
            wrong.append(f"{_address(end + 1)} after {provider}")
    assert len(ranges) == 3429
    assert wrong == []


def test_adjacent_ranges_of_different_providers_are_told_apart() -> None:
    classifier = Classifier(
        ReferenceLists(
            patterns={},
            datacenters=[DatacenterRange(10, 19, "B"), DatacenterRange(0, 9, "A"), DatacenterRange(30, 30, "C")],
        )
    )
    answers = [classifier.is_datacenter(_address(n)) for n in (0, 9, 10, 19, 20, 29, 30, 31)]
    assert answers == ["A", "A", "B", "B", None, None, "C", None]


@pytest.mark.parametrize(
    ("address", "provider"),
    [("::ffff:3.0.0.1", "Amazon AWS"), ("2600:1f18::1", None), ("not an address", None), ("3.0.0", None), ("", None)],
)
def test_other_address_forms(address: str, provider: str | None) -> None:
    assert shared_classifier().is_datacenter(address) == provider


@pytest.mark.parametrize(
    ("address", "country"),
    [
        ("8.8.8.8", "US"),
        ("1.0.16.1", "JP"),
        ("2001:4860:4860::8888", "US"),
        ("::ffff:8.8.8.8", "US"),
        ("10.1.2.3", None),
        ("127.0.0.1", None),
        ("fd00::1", None),
        ("garbage", None),
    ],
)
def test_country_of_an_address(address: str, country: str | None) -> None:
    assert geo.country(address) == country


def test_the_country_database_names_itself() -> None:
    assert re.fullmatch(r"iptocc 3\.\d+\.\d+ \(RIR delegation data\)", geo.DATABASE)
