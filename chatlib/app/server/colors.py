"""The speakers' name colors: a palette readable on dark and light terminals, and a fair pick."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence

# Mid-tone hues, each with a contrast ratio of at least 3:1 against both black and white.
PALETTE: tuple[str, ...] = (
    "#d62728",  # red
    "#ef6c00",  # orange
    "#b8860b",  # dark goldenrod
    "#2ca02c",  # green
    "#008080",  # teal
    "#039be5",  # sky blue
    "#1f77b4",  # blue
    "#6a5acd",  # slate blue
    "#9467bd",  # purple
    "#f032e6",  # magenta
    "#d81b60",  # raspberry
    "#a0522d",  # sienna
)


def pick_color(
    colors_in_use: Iterable[str] | Mapping[str, int],
    choose: Callable[[Sequence[str]], str] = random.choice,
    palette: Sequence[str] = PALETTE,
) -> str:
    """A random color among those of the palette the fewest people already have.

    ``colors_in_use`` is every connected user's color, or how many have each (a ``Counter``,
    which costs nothing to look at however many users there are). With as many users as
    colors, everyone differs; beyond that, colors repeat evenly.
    """
    usage = colors_in_use if isinstance(colors_in_use, Mapping) else Counter(colors_in_use)
    fewest = min(usage.get(color, 0) for color in palette)
    return choose([color for color in palette if usage.get(color, 0) == fewest])
