"""Dashboards: each card's numbers for creators, advertisers and ad ops, every number with how it was computed."""
