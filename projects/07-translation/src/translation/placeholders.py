"""What a translation must leave exactly as it is: markup, format placeholders, code and URLs. Each
is swapped for a numbered token (⟦0⟧, ⟦1⟧, ...) before an engine sees the text, and put back after;
an engine that drops, duplicates or invents a token has broken the segment (PlaceholderLost)."""

from __future__ import annotations

import re
from dataclasses import dataclass

# --8<-- [start:pattern]
PROTECTED = re.compile(
    r"""
      ⟦\d+⟧                               # our own token, already in the text: kept like the rest
    | \{\{[^{}]*\}\}                      # {{ jinja }} / handlebars
    | \$\{[^{}]*\}                        # ${shell} / template literals
    | \{[A-Za-z0-9_.\[\]]*(?:[!:][^{}]*)?\}   # {name} {0} {} {total:.2f}
    | %(?:\([A-Za-z0-9_]+\))?[-+#0]*\d*(?:\.\d+)?[sdifuxXeEgGcr%]   # %s %d %(name)s %.2f
    | </?[A-Za-z][^<>]*>                  # HTML/XML tags
    | &(?:[A-Za-z]+|\#\d+|\#x[0-9A-Fa-f]+);   # character references
    | `[^`\n]+`                           # `inline code`
    | \]\([^()\s]+\)                      # the target of a Markdown link: ](url)
    | https?://[^\s<>"')\]]*[^\s<>"')\].,;:!?]   # bare URLs (not the full stop after one)
    """,
    re.VERBOSE,
)
# --8<-- [end:pattern]
TOKEN = re.compile(r"⟦(\d+)⟧")


class PlaceholderLost(ValueError):
    """The engine's output lost, repeated or invented a protected token."""


@dataclass(frozen=True)
class Masked:
    text: str  # what the engine sees
    originals: tuple[str, ...]  # token i stands for originals[i]


def protect(text: str) -> Masked:
    originals: list[str] = []

    def swap(match: re.Match[str]) -> str:
        originals.append(match.group(0))
        return f"⟦{len(originals) - 1}⟧"

    return Masked(PROTECTED.sub(swap, text), tuple(originals))


def restore(translated: str, masked: Masked) -> str:
    found = [int(n) for n in TOKEN.findall(translated)]
    if sorted(found) != list(range(len(masked.originals))):
        raise PlaceholderLost(f"expected tokens 0..{len(masked.originals) - 1}, the engine gave {found}")
    return TOKEN.sub(lambda m: masked.originals[int(m.group(1))], translated)
