"""The sports example plugin: MLB statistics 2023-2025 from the Lahman database, no auth."""

from powerstrip.examples.sports.plugin import build_sports

__all__ = ["build_sports"]
