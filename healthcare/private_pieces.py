"""Which private pieces run: the one place the code asks.

Each piece in settings.PRIVATE_PIECES (the compiled statements, the hand-written representations,
the kept count of the encounter list, the broadcaster's event loop per thread) is written for
speed where the framework's public API or its usual pattern would do. It stays only while a paired
benchmark shows it buys a lot (bench/serving.py's audit, written up in docs/performance.md). That
audit starts the product with PUBLIC_API_FOR=<piece>, and every place that would run the piece
runs the framework's way instead.
"""

from django.conf import settings


def private_piece_enabled(piece: str) -> bool:
    """True when *piece* runs as shipped, False when settings.PUBLIC_API_FOR names it.

    Raises ValueError for a name that is not in settings.PRIVATE_PIECES, so that a misspelt check
    fails loudly instead of always running the private piece.
    """
    if piece not in settings.PRIVATE_PIECES:
        raise ValueError(f"unknown private piece {piece!r}; the pieces are {settings.PRIVATE_PIECES}")
    return piece not in settings.PUBLIC_API_FOR
