"""The provider's two HTML pages: the sign-in form and the error page. Every value is escaped."""

from __future__ import annotations

from html import escape

__all__ = ["error_page", "sign_in_page"]

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem}"
    "label{display:block;margin:.8rem 0}input{width:100%;padding:.4rem}"
    "button{margin-top:1rem;padding:.5rem 1.2rem}.error{color:#b00020}"
)


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body>{body}</body></html>"
    )


def sign_in_page(
    *, site: str, client_name: str, scope: str, action: str, username: str = "", error: str = ""
) -> str:
    """The form that asks the user to sign in and shows which app asks for which access."""
    scopes = "".join(f"<li><code>{escape(s)}</code></li>" for s in scope.split()) or (
        "<li>no particular access</li>"
    )
    problem = f"<p class='error' role='alert'>{escape(error)}</p>" if error else ""
    return _page(
        f"Sign in to {site}",
        f"<h1>Sign in to {escape(site)}</h1>"
        f"<p><strong>{escape(client_name)}</strong> asks for access to:</p><ul>{scopes}</ul>"
        f"{problem}"
        f"<form method='post' action='{escape(action)}'>"
        "<label>Username <input name='username' autocomplete='username' required "
        f"value='{escape(username)}'></label>"
        "<label>Password <input name='password' type='password' "
        "autocomplete='current-password' required></label>"
        "<button type='submit' name='decision' value='allow'>Sign in and allow</button> "
        "<button type='submit' name='decision' value='deny' formnovalidate>Deny</button>"
        "</form>",
    )


def error_page(title: str, message: str) -> str:
    """An error the user sees in place of a redirect (unknown app, unregistered address...)."""
    return _page(title, f"<h1>{escape(title)}</h1><p class='error'>{escape(message)}</p>")
