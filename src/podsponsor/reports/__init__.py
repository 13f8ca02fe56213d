"""Dashboards, exports and reports: the numbers people open every morning, and what they send to sponsors."""
