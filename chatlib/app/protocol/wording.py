"""The chat's French wire strings, kept byte for byte in one place (listed in docs/PROTOCOL.md).

Most come from the lab sheet; the two of a room change (``moved_to``, ``arrived_from``) are the
app's own, in the same style. Note the space before each ``:`` and ``!``: it is part of the
specification.
"""


def joined(pseudo: str) -> str:
    """The room's announcement when someone enters it."""
    return f"Annonce : {pseudo} a rejoint la chatroom"


def left(pseudo: str) -> str:
    """The room's announcement when someone leaves it."""
    return f"Annonce : {pseudo} a quitté la chatroom"


def moved_to(pseudo: str, new_room: str) -> str:
    """The old room's announcement when someone moves to another room (not the lab sheet's: it has
    one room; worded like its announcements, so a room change does not read as leaving the chat)."""
    return f"Annonce : {pseudo} passe dans le salon {new_room}"


def arrived_from(pseudo: str, old_room: str) -> str:
    """The new room's announcement when someone comes from another room (same style as ``moved_to``)."""
    return f"Annonce : {pseudo} arrive du salon {old_room}"


def you_said(text: str) -> str:
    """How the sender's own screen shows what they just said."""
    return f"Vous avez dit : {text}"


def said(pseudo: str, text: str) -> str:
    """How a client shows a message from someone else."""
    return f"{pseudo} a dit : {text}"


def welcome_back(pseudo: str) -> str:
    """What a returning user is told (the client shows it for a WELCOME marked returning)."""
    return f"Welcome back {pseudo} !"


def is_back(pseudo: str) -> str:
    """What the others of the room are told when a known user comes back."""
    return f"{pseudo} est de retour !"
