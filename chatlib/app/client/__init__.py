"""The chat client: ``chat-client`` (main.py) and the session it runs.

``session`` is the chat without any user interface: log in, enter a room, then send what the
user types and show what arrives, over a ``server_link`` that speaks whole frames. What a typed
line means is ``commands``; how a line looks is ``display``; ``user_io`` gives the session its
two faces, a prompt_toolkit terminal and a plain scripted mode; ``tokens`` keeps the secrets that
prove it is you when you come back; ``settings`` reads the options and the config file.
"""

from chatlib.app.client.session import run_session

__all__ = ["run_session"]
