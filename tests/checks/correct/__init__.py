"""Correct implementations written differently from the course's: every check must pass them."""
