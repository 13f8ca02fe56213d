"""Audience measurement: the prefix redirect, its hits, reference lists and IAB download counting."""
