"""The runtime: model backends, the executor of plugin calls, and the conversation loop."""

from powerstrip.runtime.model import (
    ChatMessage,
    Model,
    ModelDone,
    ModelEvent,
    ModelTextDelta,
    ModelToolCall,
    Role,
    ToolCall,
    ToolSpec,
)

__all__ = [
    "ChatMessage",
    "Model",
    "ModelDone",
    "ModelEvent",
    "ModelTextDelta",
    "ModelToolCall",
    "Role",
    "ToolCall",
    "ToolSpec",
]
