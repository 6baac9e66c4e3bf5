"""MCP servers written with the official SDK, for the tests that use MCP servers as plugins."""
