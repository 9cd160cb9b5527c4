"""Helpers for running the course's code inside a Jupyter notebook."""
