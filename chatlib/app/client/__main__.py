"""``python -m chatlib.app.client``: the same as ``chat-client``."""

import sys

from chatlib.app.client.main import main

sys.exit(main())
