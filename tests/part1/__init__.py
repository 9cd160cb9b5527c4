"""Tests of Part I: first steps with async."""
