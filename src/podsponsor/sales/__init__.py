"""Sponsors (advertisers) and campaigns (deals)."""
