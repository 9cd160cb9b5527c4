"""Tests of the fan-out benchmark tool (chatlib.bench)."""
