"""Part I: first steps with async, one small module per step of the lab sheet."""
