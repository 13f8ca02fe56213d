"""Device families: a shop's browser user agent and a podcast download's OPAWG device meet on the same family."""

from __future__ import annotations

import pytest

from podsponsor.attribution.ua import FAMILIES, OPAWG_DEVICES, device_family, ua_family
from tests.measurement.reference_data import entries, shared_classifier

# Real user agents of the browsers and devices shoppers check out on.
BROWSERS = [
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.4 Mobile/15E148 Safari/604.1",
        "iOS",
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1",
        "iOS",
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Mobile/15E148 Instagram 329.0.3.29.120",
        "iOS",
    ),
    (
        "Mozilla/5.0 (iPod touch; CPU iPhone OS 15_8 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/15.6 Mobile/15E148 Safari/604.1",
        "iOS",
    ),
    (
        "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 "
        "Mobile/15E148 Safari/604.1",
        "iPadOS",
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 "
        "Mobile Safari/537.36",
        "Android",
    ),
    (
        "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 "
        "Safari/537.36",
        "Android",
    ),
    ("Mozilla/5.0 (Android 14; Mobile; rv:125.0) Gecko/125.0 Firefox/125.0", "Android"),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 "
        "Safari/605.1.15",
        "macOS",
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 "
        "Safari/537.36 Edg/124.0.0.0",
        "Windows",
    ),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0", "Windows"),
    (
        "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 "
        "Safari/537.36",
        "ChromeOS",
    ),
    ("Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0", "Linux"),
    (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
        "Linux",
    ),
]
OTHERS = [
    "Mozilla/5.0 (SMART-TV; Linux; Tizen 7.0) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/5.0 TV Safari",
    "Mozilla/5.0 (Web0S; Linux/SmartTV) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/94.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; Xbox; Xbox One) AppleWebKit/537.36 Chrome/124.0 Edge/44.18363.8131",
    "Mozilla/5.0 (PlayStation; PlayStation 5/6.50) AppleWebKit/605.1.15 (KHTML, like Gecko)",
    "Mozilla/5.0 (Windows Phone 10.0; Android 6.0.1; Microsoft; Lumia 950) AppleWebKit/537.36 Edge/15.15063",
    "Podcasts/1555.2.1 CFNetwork/1240.0.4 Darwin/20.6.0",
    "curl/8.5.0",
    "Shopify-Captain-Hook",
]


@pytest.mark.parametrize(("user_agent", "family"), BROWSERS)
def test_a_browser_user_agent_names_its_family(user_agent: str, family: str) -> None:
    assert ua_family(user_agent) == family


@pytest.mark.parametrize("user_agent", OTHERS)
def test_consoles_tvs_and_bare_clients_are_other(user_agent: str) -> None:
    assert ua_family(user_agent) == "other"


@pytest.mark.parametrize("missing", [None, "", "   "])
def test_no_user_agent_has_no_family(missing: str | None) -> None:
    assert ua_family(missing) is None


@pytest.mark.parametrize(
    ("device", "category", "family"),
    [
        ("Apple iPhone", "mobile", "iOS"),
        ("Apple iPod", "mobile", "iOS"),
        ("Apple iPad", "mobile", "iPadOS"),
        ("Apple Computer", "computer", "macOS"),
        ("Android Phone", "mobile", "Android"),
        ("Android Tablet", "mobile", "Android"),
        ("Windows Computer", "computer", "Windows"),
        ("Google Chromebook", "computer", "ChromeOS"),
        ("Apple Watch", "watch", "other"),
        ("Apple TV", "smart_tv", "other"),
        ("Amazon Smart Speaker", "smart_speaker", "other"),
        ("Smart Car", "auto", "other"),
        ("Other Computer", "computer", "other"),
        # Names outside OPAWG's list, spelled the short way
        ("iPhone", "mobile", "iOS"),
        ("Android phone", "mobile", "Android"),
        ("iPad Pro", None, "iPadOS"),
        ("MacBook Air", "computer", "macOS"),
        ("Linux desktop", "computer", "Linux"),
        ("Garmin Venu", "watch", "other"),
        # A category without a device says it is some device, not which system
        (None, "smart_speaker", "other"),
        (None, None, None),
        ("", "", None),
    ],
)
def test_an_opawg_device_names_its_family(device: str | None, category: str | None, family: str | None) -> None:
    assert device_family(device, category) == family


def test_every_device_of_the_opawg_list_has_a_family() -> None:
    names = {entry["name"] for entry in entries("devices")}
    assert names, "the shared OPAWG devices list is empty"
    assert {name.lower() for name in names} <= set(OPAWG_DEVICES)
    assert {device_family(name) for name in names} <= set(FAMILIES)


@pytest.mark.parametrize(("user_agent", "family"), BROWSERS)
def test_a_browser_classified_by_opawg_meets_its_own_family(user_agent: str, family: str) -> None:
    """The same device on both sides: what OPAWG makes of a user agent maps to what `ua_family` reads in it. OPAWG
    files Linux desktops under "Other Computer" with ffmpeg and VLC, so for them it can only say "other"."""
    found = shared_classifier().classify(user_agent)
    expected = "other" if family == "Linux" else family
    assert device_family(found.device, found.device_category) == expected, found
