"""Measured figures, each runnable by one command."""
