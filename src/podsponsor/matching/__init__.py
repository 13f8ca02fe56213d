"""Matchmaking: how well each advertiser fits each show, scored 0-100 from six signals with a rationale."""
