"""Powerstrip: an open, self-hosted implementation of the ChatGPT plugin platform."""

__version__ = "0.1.0"

__all__ = ["__version__"]
