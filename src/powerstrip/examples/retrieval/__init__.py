"""The retrieval example plugin: the chatgpt-retrieval-plugin's API on Powerstrip's engine."""

from powerstrip.examples.retrieval.plugin import build_retrieval, issue_retrieval_key

__all__ = ["build_retrieval", "issue_retrieval_key"]
