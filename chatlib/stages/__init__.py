"""Part II: the chat room in five stages, ``ii_2`` to ``ii_6``; compare stage N with stage N+1."""
