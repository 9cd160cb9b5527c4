"""The chat's French wire strings from the lab sheet, kept byte for byte in one place.

Note the space before each ``:`` and ``!``: it is part of the specification.
"""


def joined(pseudo: str) -> str:
    """The room's announcement when someone enters it."""
    return f"Annonce : {pseudo} a rejoint la chatroom"


def left(pseudo: str) -> str:
    """The room's announcement when someone leaves it."""
    return f"Annonce : {pseudo} a quitté la chatroom"


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
