"""The TODO plugin of the original platform's quickstart, as its docs wrote it, in Quart."""
