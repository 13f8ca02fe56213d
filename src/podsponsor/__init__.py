"""podsponsor: sell, deliver and measure podcast sponsorships."""

__version__ = "0.1.0"
