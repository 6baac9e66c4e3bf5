from pydantic import BaseModel

from powerstrip.sdk import CallContext, Plugin

plugin = Plugin(
    name_for_model="notes",
    name_for_human="Notes",
    description_for_model="Keeps short notes for the user: add a note, list the notes.",
    description_for_human="Keep short notes.",
    contact_email="support@example.com",
)
NOTES: dict[str, list[str]] = {}


class Note(BaseModel):
    text: str


@plugin.post("/notes", consequential=False)
def add_note(note: Note, ctx: CallContext) -> list[str]:
    """Add a note to the user's notes."""
    NOTES.setdefault(ctx.ephemeral_user_id or "anyone", []).append(note.text)
    return NOTES[ctx.ephemeral_user_id or "anyone"]


@plugin.get("/notes")
def list_notes(ctx: CallContext) -> list[str]:
    """List the user's notes."""
    return NOTES.get(ctx.ephemeral_user_id or "anyone", [])


app = plugin.app()
