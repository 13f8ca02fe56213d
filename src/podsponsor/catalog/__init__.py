"""Shows (podcasts) and their episodes."""
