"""The runtime: model backends, the executor of plugin calls, and the conversation loop."""

from powerstrip.runtime.conversation import (
    ActivePlugin,
    AuthMaterial,
    Conversation,
    ConversationRecorder,
    CredentialSource,
    GrantChecker,
)
from powerstrip.runtime.events import (
    ApprovalNeeded,
    CallFinished,
    CallStarted,
    ClientCalls,
    ErrorEvent,
    Event,
    TextDelta,
    TurnDone,
    event_to_dict,
)
from powerstrip.runtime.executor import CallOutcome, CallRequest, Executor
from powerstrip.runtime.model import (
    ChatMessage,
    Model,
    ModelDone,
    ModelEvent,
    ModelTextDelta,
    ModelToolCall,
    Role,
    SamplingOptions,
    ToolCall,
    ToolSpec,
)
from powerstrip.runtime.offline import OfflineRouter
from powerstrip.runtime.openai_compat import OpenAICompatModel

__all__ = [
    "ActivePlugin",
    "ApprovalNeeded",
    "AuthMaterial",
    "CallFinished",
    "CallOutcome",
    "CallRequest",
    "CallStarted",
    "ChatMessage",
    "ClientCalls",
    "Conversation",
    "ConversationRecorder",
    "CredentialSource",
    "ErrorEvent",
    "Event",
    "Executor",
    "GrantChecker",
    "Model",
    "ModelDone",
    "ModelEvent",
    "ModelTextDelta",
    "ModelToolCall",
    "OfflineRouter",
    "OpenAICompatModel",
    "Role",
    "SamplingOptions",
    "TextDelta",
    "ToolCall",
    "ToolSpec",
    "TurnDone",
    "event_to_dict",
]
