"""The web app: sign in, chat with plugins, the plugin store, develop and admin pages.

Server-rendered (Jinja2) over the host's services, with a little of our own JavaScript (ES
modules, no framework, no build step) and CSS, all served by Powerstrip itself:

    install_web(app)   # in server.app.create_app, after the API routers
"""

from powerstrip.web.app import install_web
from powerstrip.web.markdown import render_markdown
from powerstrip.web.route import WebRoute
from powerstrip.web.security import CONTENT_SECURITY_POLICY

__all__ = ["CONTENT_SECURITY_POLICY", "WebRoute", "install_web", "render_markdown"]
