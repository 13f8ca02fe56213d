"""The sentences a seller can repeat to a client: the strongest signals in plain words, any hard conflict, and what
data was missing."""

from __future__ import annotations

from typing import Any

from podsponsor.matching.settings import SIGNAL_NAMES


def _percent(value: Any) -> str:
    return f"{round(100 * float(value))}%"


def describe(name: str, inputs: dict[str, Any]) -> str:
    """One signal in words, from the inputs it was computed from."""
    if name == "geo":
        return f"{_percent(inputs['share_in_target'])} of measured downloads in {', '.join(inputs['target'])}"
    if name == "demographic":
        return f"{_percent(inputs['share_in_target'])} of the {inputs.get('source') or 'profiled'} audience in target"
    if name == "topic":
        terms = inputs.get("shared_terms") or []
        return f"shared terms {', '.join(terms)}" if terms else "few shared terms"
    if name == "lift":
        who = "this advertiser" if inputs["level"] == "advertiser" else "its industry"
        return f"{inputs['lift']:.2f}x the conversion rate {who} gets elsewhere"
    if name == "inventory":
        return f"{inputs['open_slots']} open slots for {inputs['needed']} needed in the flight"
    words = inputs.get("sensitive_terms") or []
    flagged = "explicit, " if inputs.get("explicit") else ""
    if words:
        return f"{flagged}{inputs['sensitive_per_1000']:.1f} sensitive words per 1,000 ({', '.join(words)})"
    return f"{flagged}no sensitive language found" if flagged else "no sensitive language found"


def rationale(score: float, signals: dict[str, dict[str, Any]], missing: dict[str, str], conflict: str | None) -> str:
    ranked = sorted(signals.items(), key=lambda item: -item[1]["weight"] * item[1]["value"])
    strongest = [f"{SIGNAL_NAMES[name]} ({describe(name, s['inputs'])})" for name, s in ranked[:2]]
    both = " and ".join(strongest)
    first = f"Score {score:.0f}: strongest are {both}."
    if conflict:
        first = f"Score {score:.0f}, capped by a hard conflict ({conflict}); otherwise strongest are {both}."
    if not missing:
        return f"{first} All six signals had data."
    gaps = "; ".join(f"{SIGNAL_NAMES[name]} ({reason})" for name, reason in missing.items())
    return f"{first} Missing: {gaps}."
