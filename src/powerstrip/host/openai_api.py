"""`OpenAIApi`: the services behind the OpenAI-compatible API (`/v1`), wired once per host.

    api = host.openai
    file = await api.files.upload(user, "paper.pdf", data, "assistants")
    store = await api.vector_stores.create(user, file_ids=[file["id"]])
    run = await api.responses.start(user, ResponseRequest(model="m", input="hi"))

The retrieval engine (`host.documents`) starts on first use: a host that never searches files
never loads the embedding model.
"""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from powerstrip.coordination import Coordination
from powerstrip.host.api_objects import ApiObjects
from powerstrip.host.api_turns import ApiTurns
from powerstrip.host.assistants import Assistants
from powerstrip.host.chats import Chats
from powerstrip.host.documents import Documents
from powerstrip.host.files import Files
from powerstrip.host.plugins import Plugins
from powerstrip.host.replays import Replays
from powerstrip.host.responses import Conversations, Responses
from powerstrip.host.uploads import Uploads
from powerstrip.host.users import Users
from powerstrip.host.vector_stores import VectorStores
from powerstrip.jobs import Jobs
from powerstrip.settings import Settings

__all__ = ["OpenAIApi"]


class OpenAIApi:
    """Files, uploads, vector stores, turns, responses, conversations, assistants, replays."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        chats: Chats,
        plugins: Plugins,
        coordination: Coordination,
        jobs: Jobs,
    ) -> None:
        self._sessions = sessions
        self._settings = settings
        self._documents: Documents | None = None
        self._starting = asyncio.Lock()
        self.objects = ApiObjects(sessions)
        self.files = Files(sessions, self.objects, settings.retrieval_max_file_bytes)
        self.uploads = Uploads(sessions, self.objects, self.files)
        users = Users(sessions)
        self.vector_stores = VectorStores(
            self.objects, self.files, self.documents, settings, jobs, users.get
        )
        self.turns = ApiTurns(chats, plugins)
        self.conversations = Conversations(self.objects)
        self.responses = Responses(
            self.objects,
            self.turns,
            self.vector_stores,
            self.conversations,
            jobs,
            users.get,
            logs=coordination.events,
            signals=coordination.signals,
        )
        self.assistants = Assistants(
            self.objects, self.responses, self.conversations, self.vector_stores, jobs, users.get
        )
        self.replays = Replays(sessions)

    @property
    def model_names(self) -> list[str]:
        """The model ids `/v1/models` lists: the host's configured backend model."""
        return [self._settings.model_name if self._settings.model_base_url else "offline"]

    async def documents(self) -> Documents:
        """The retrieval service, started on first use."""
        async with self._starting:
            if self._documents is None:
                self._documents = await Documents.start(self._sessions, self._settings)
            return self._documents

    async def aclose(self) -> None:
        if self._documents is not None:
            await self._documents.aclose()
