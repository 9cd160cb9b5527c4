"""Part III: the finished chat app, with its own binary protocol, rooms, colors, logs and history."""
