"""Deliberately broken implementations: each check must catch them, with the right message."""
