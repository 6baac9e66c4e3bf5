"""Tests of powerstrip.openapi (a package, so module names never clash with other test dirs)."""
