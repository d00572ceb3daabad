"""Test ids of ASCII word characters only: a bracket, quote, space or newline in an id breaks tools
that select tests by id (mutmut does)."""


def case_id(*parts: object) -> str:
    text = "-".join(str(p) for p in parts)
    return "".join(c if c.isascii() and (c.isalnum() or c in "._:-") else "_" for c in text)[:80]
