"""Classification as OPAWG and the IAB guidelines define it, on every example the shared OPAWG lists carry."""

from __future__ import annotations

import pytest

from podsponsor.measurement.classify import (
    MISSING,
    Classification,
    Classifier,
    Override,
    ReferenceLists,
    review_key,
)
from tests.measurement.reference_data import KIND_OF_FILE, UA_FILES, entries, shared_classifier

CHROME = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_10_5) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/54.0.2840.71 Safari/537.36"
)

# Examples in devices.json that the documented algorithm does not resolve to their own entry. Each is asserted as
# the algorithm answers, so a change in the data or the code shows up here.
DEVICE_EXCEPTIONS = {
    # "Apple iPhone" comes earlier in devices.json and matches "CFNetwork"; the first match wins.
    ("Apple Watch", "Watch/1140 CFNetwork/3860.200.71 Darwin/25.1.0"): "Apple iPhone",
    # The user agent is the library net/http-easy, of category bot: devices are only looked up for non-bots.
    ("Apple Computer", "net/http-easy (macosx; racket[CS] 8.15.0.7; 0.8.2)"): None,
    # "SEIRobotics" contains "bot": the IAB keyword rule makes it a bot, so no device is looked up. A workspace that
    # sees real listeners on it labels it an app in the review queue (see test_a_label_app_lifts_the_keyword_rule).
    ("Other Smart TV", "SEIRobotics;yes;756a522d9f1648b89e76e80be654456a;;tpapi;3.200.454"): None,
}


def _ua_examples() -> list[object]:
    return [
        pytest.param(file, entry["name"], entry.get("category"), example, id=f"{file}:{entry['name']}:{number}")
        for file in UA_FILES
        for entry in entries(file)
        for number, example in enumerate(entry.get("examples", []))
    ]


def _examples(file: str) -> list[object]:
    return [
        pytest.param(entry["name"], entry.get("category"), example, id=f"{entry['name']}:{number}")
        for entry in entries(file)
        for number, example in enumerate(entry.get("examples", []))
    ]


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return shared_classifier()


def test_the_shared_lists_have_the_examples_the_tests_walk() -> None:
    assert len(_ua_examples()) > 1400
    assert len(_examples("devices")) > 150
    assert len(_examples("referrers")) > 100


@pytest.mark.parametrize(("file", "name", "category", "example"), _ua_examples())
def test_every_user_agent_example_is_its_own_entry(
    classifier: Classifier, file: str, name: str, category: str | None, example: str
) -> None:
    found = classifier.classify(example)
    assert (found.kind, found.name) == (KIND_OF_FILE[file], name)
    # Bots, and libraries of category bot, are bots; every example of an app, browser or other library is not.
    assert found.is_bot == (file == "bots" or category == "bot")
    assert found.app == (name if file == "apps" else None)


@pytest.mark.parametrize(("name", "category", "example"), _examples("devices"))
def test_every_device_example_is_its_device_or_a_listed_exception(
    classifier: Classifier, name: str, category: str, example: str
) -> None:
    found = classifier.classify(example)
    expected = DEVICE_EXCEPTIONS.get((name, example), name)
    assert found.device == expected
    if expected == name:
        assert found.device_category == category


def test_the_device_exceptions_are_all_still_in_the_data() -> None:
    listed = {(entry["name"], example) for entry in entries("devices") for example in entry.get("examples", [])}
    assert set(DEVICE_EXCEPTIONS) <= listed


@pytest.mark.parametrize(("name", "category", "example"), _examples("referrers"))
def test_every_referrer_example_names_the_web_app_behind_a_browser(
    classifier: Classifier, name: str, category: str | None, example: str
) -> None:
    found = classifier.classify(CHROME, example)
    assert (found.kind, found.name) == ("browser", "Chrome")
    assert (found.app, found.via_referrer, found.referrer_category) == (name, True, category)
    assert not found.is_bot


def test_a_referrer_is_only_read_for_browsers(classifier: Classifier) -> None:
    overcast = "Overcast/3.0 (+http://overcast.fm/; iOS podcast app)"
    found = classifier.classify(overcast, "https://podcasts.apple.com/us/podcast/x/id1")
    assert (found.kind, found.app, found.via_referrer) == ("app", "Overcast", False)
    assert classifier.classify(CHROME, "https://unknown.example/").app is None


@pytest.mark.parametrize(
    ("user_agent", "duplicate"),
    [
        ("atc/1.0 watchOS/7.0 model/Watch5,4 hwp/t8006 build/18R382 (6; dt:210)", True),
        ("ATC/1.0 WatchOS/9.1 model/Watch6,1", True),
        ("Podcasts/1580.1 (null)/(null) watchOS/8.4 model/Watch6,2 hwp/t8301 build/19S546 (6; dt:237)", True),
        ("AppleCoreMedia/1.0.0.20E247 (Apple Watch; U; CPU OS 9_4 like Mac OS X; en_us)", False),
        ("atc/1.0 iOS/16.4 model/iPhone14,2", False),
        ("Podcasts/1.0 atc/1.0 watchOS/7.0", False),
        ("Podcasts/1580.1 CFNetwork/1335 Darwin/21.6.0 watchOS", False),
    ],
)
def test_apple_watch_duplicates(classifier: Classifier, user_agent: str, duplicate: bool) -> None:
    assert classifier.classify(user_agent).apple_watch_duplicate is duplicate


def test_apple_watch_duplicates_are_also_an_opawg_bot(classifier: Classifier) -> None:
    # OPAWG lists them as the bot "Apple Podcasts (Watch)" for the same reason: the phone downloads it too.
    found = classifier.classify("Podcasts/1580.1 (null)/(null) watchOS/8.4 model/Watch6,2")
    assert (found.kind, found.name, found.is_bot) == ("bot", "Apple Podcasts (Watch)", True)
    assert found.apple_watch_duplicate


@pytest.mark.parametrize(
    ("user_agent", "word"),
    [
        ("MyFeedCrawler/2.1 (+https://example.com)", "crawler"),
        ("Mozilla/5.0 (compatible; ExampleSpider/1.0)", "spider"),
        ("LISTENBOT 1.0", "bot"),
        (
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120 Safari/537.36 FooBot",
            "bot",
        ),
    ],
)
def test_self_declared_bots_are_bots_whatever_the_lists_say(classifier: Classifier, user_agent: str, word: str) -> None:
    found = classifier.classify(user_agent)
    assert found.is_bot
    assert found.bot_reason == f"user agent contains {word!r}"
    assert found.device is None


def test_an_app_the_lists_name_is_not_a_bot_for_having_bot_in_its_name(classifier: Classifier) -> None:
    found = classifier.classify("Tweetbot/53300 CFNetwork/1335.0.3 Darwin/21.6.0")
    assert (found.kind, found.name, found.is_bot) == ("app", "Tweetbot", False)


@pytest.mark.parametrize("user_agent", [None, "", "   ", "\r\n"])
def test_a_missing_user_agent_is_a_bot_and_not_for_review(classifier: Classifier, user_agent: str | None) -> None:
    found = classifier.classify(user_agent)
    assert found == MISSING
    assert found.is_bot
    assert found.bot_reason == "missing user agent"
    assert not found.needs_review


def test_line_breaks_are_removed_before_matching(classifier: Classifier) -> None:
    plain = classifier.classify("Overcast/3.0 (+http://overcast.fm/; iOS podcast app)")
    assert classifier.classify("Overcast/3.0 (+http://overcast.fm/;\r\n iOS podcast app)\n") == plain
    assert classifier.classify("Over\ncast/3.0") == classifier.classify("Overcast/3.0")


def test_an_unrecognised_user_agent_is_for_review_with_its_device(classifier: Classifier) -> None:
    found = classifier.classify("NewPodPlayer/0.1 (Android 14; Pixel 8)")
    assert (found.kind, found.name, found.is_bot) == ("unknown", None, False)
    assert (found.device, found.device_category) == ("Android Phone", "mobile")
    assert found.needs_review


def test_a_library_of_category_bot_says_which(classifier: Classifier) -> None:
    found = classifier.classify("Python/3.10 aiohttp/3.9.3")
    assert (found.kind, found.name, found.is_bot) == ("library", "AIOHTTP", True)
    assert found.bot_reason == "OPAWG library of category bot: AIOHTTP"


def test_a_workspace_label_decides_kind_and_name(classifier: Classifier) -> None:
    user_agent = "NewPodPlayer/0.1 (Android 14; Pixel 8)"
    labels = {review_key(user_agent): Override("app", "New Pod Player")}
    found = classifier.classify(user_agent, None, labels)
    assert (found.kind, found.name, found.app, found.labelled) == ("app", "New Pod Player", "New Pod Player", True)
    assert found.device == "Android Phone"
    assert not found.needs_review
    bot = classifier.classify(user_agent, None, {review_key(user_agent): Override("bot", "Uptime probe")})
    assert (bot.kind, bot.is_bot, bot.labelled) == ("bot", True, True)


def test_an_ignore_label_leaves_the_lists_answer(classifier: Classifier) -> None:
    user_agent = "NewPodPlayer/0.1"
    found = classifier.classify(user_agent, None, {user_agent: Override("ignore", None)})
    assert found == classifier.classify(user_agent)


def test_a_label_app_lifts_the_keyword_rule_but_other_labels_do_not(classifier: Classifier) -> None:
    user_agent = "SEIRobotics;yes;756a522d9f1648b89e76e80be654456a;;tpapi;3.200.454"
    assert classifier.classify(user_agent).is_bot
    as_app = classifier.classify(user_agent, None, {user_agent: Override("app", "SEI Robotics TV")})
    assert (as_app.is_bot, as_app.device_category) == (False, "smart_tv")
    as_library = classifier.classify(user_agent, None, {user_agent: Override("library", "tpapi")})
    assert as_library.is_bot


def test_labels_are_found_by_the_review_key_of_long_user_agents(classifier: Classifier) -> None:
    long_agent = "LongPlayer/1.0 " + "x" * 900
    labels = {review_key(long_agent): Override("app", "Long Player")}
    assert len(review_key(long_agent)) == 512
    assert classifier.classify(long_agent, None, labels).name == "Long Player"


def test_repeated_user_agents_are_answered_from_the_cache() -> None:
    fresh = Classifier(shared_classifier().lists)
    first = fresh.classify("Overcast/3.0")
    again = fresh.classify("Overcast/3.0")
    assert first is again
    assert fresh.cache_info()["hits"] == 1


def test_without_lists_everything_is_unknown_and_the_missing_lists_are_named() -> None:
    empty = Classifier(ReferenceLists(patterns={}))
    assert empty.classify("Overcast/3.0") == Classification(kind="unknown")
    assert set(empty.missing) == {"bots", "apps", "libraries", "browsers", "devices", "referrers", "datacenters"}
    assert shared_classifier().missing == ()
