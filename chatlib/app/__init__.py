"""Part III: the finished chat app, in three parts and what they share.

- ``protocol/``: the binary protocol both sides speak (frames, encoding, decoding), sans-IO;
- ``server/``: ``chat-server``, the ``ChatServer`` and its parts (admission, dispatch, lobby,
  relay and broadcast, outboxes, limits, persistence);
- ``client/``: ``chat-client``, a session without any user interface, and its terminal and
  scripted faces;
- ``shared/``: what both programs use beside the protocol (the settings file, log files, safe
  terminal text, images).

docs/ARCHITECTURE.md follows one message from a keyboard to another screen through these modules.
"""
