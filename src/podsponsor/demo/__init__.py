"""Deterministic demo data: a podcast network and an independent creator, with shows, episodes, sponsors, deals and
their stage histories, users for every role, listening, ad units, insertion orders, conversions, advertisers'
briefs, transcripts and an event log; and a hidden true fit of every sponsor-show pair (`fit.py`), never stored.
`load_demo_data(seed)` writes it; the same seed gives the same rows (listening and bookings are placed around today).

Demo logins: `<role>@northwind.example` and `<role>@maple-pine.example` for every role, password `demo-password-1`.
"""

from podsponsor.demo.generate import DEMO_PASSWORD, DemoLogin, generate
from podsponsor.demo.load import DemoSummary, demo_loaded, demo_tenant_ids, load_demo_data

__all__ = ["DEMO_PASSWORD", "DemoLogin", "DemoSummary", "demo_loaded", "demo_tenant_ids", "generate", "load_demo_data"]
