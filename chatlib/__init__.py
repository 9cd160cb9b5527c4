"""chatlib: the code of the asyncio chat-room course.

The package follows the course:

- ``chatlib.first_steps``: Part I, first steps with async (sleep-and-print, web downloads,
  the local stand-in web site, the sync/async measurement);
- ``chatlib.stages``: Part II, the chat room in five stages (``ii_2`` ... ``ii_6``), each a
  server and a client kept readable on its own;
- ``chatlib.app``: Part III, the finished chat app (binary protocol, rooms, colors, history...);
- ``chatlib.notebook``: helpers the notebooks use, such as running a server in the background.
"""
