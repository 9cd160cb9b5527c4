"""``python -m chatlib.app.server``: the same as ``chat-server``."""

import sys

from chatlib.app.server.main import main

sys.exit(main())
