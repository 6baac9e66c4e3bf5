"""`Assistants`: OpenAI's Assistants API (assistants, threads, messages, runs) on the Responses
engine: a thread is a conversation, a run is a response over it."""

from __future__ import annotations

from powerstrip.host.api_objects import ApiObjects
from powerstrip.host.responses import Conversations, Responses

__all__ = ["Assistants"]


class Assistants:
    def __init__(
        self, objects: ApiObjects, responses: Responses, conversations: Conversations
    ) -> None:
        self.objects = objects
        self.responses = responses
        self.conversations = conversations
