"""Plugins written for the original platform, served unchanged and checked by Powerstrip."""
