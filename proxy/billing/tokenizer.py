"""Our own token counts, for usage an upstream did not report (such usage is marked estimated).

The vocabularies ship inside the `bpe-openai` package (a tiktoken-compatible, Rust-backed BPE),
so nothing is downloaded at run time. One encoding per model family, documented here and in
README "Billing": every family uses `cl100k_base` — OpenAI's GPT-4 encoding, whose 100k
vocabulary is close in size to the DeepSeek, Qwen, Kimi, GLM, Doubao and MiniMax tokenizers
(their own counts differ by roughly ±15 %; that is why such usage is flagged estimated).
`o200k_base` is not used: it costs 144 MiB per worker against cl100k's 33 MiB.

The package and its vocabulary load on first use (~20 ms; ~63 MiB for the package, ~33 MiB for
the vocabulary, measured): the first metered stream (its text is counted for the cross-check,
`proxy.billing.stream_tap`) or the first usage an upstream did not report; a proxy that relays
only JSON answers with usage never pays for it. Text with special-token markers is counted as
ordinary text.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import bpe_openai

ENCODING_BY_FAMILY: dict[str, str] = {
    "openai": "cl100k_base",
    "anthropic": "cl100k_base",
    "deepseek": "cl100k_base",
    "qwen": "cl100k_base",
    "moonshot": "cl100k_base",
    "zhipu": "cl100k_base",
    "doubao": "cl100k_base",
    "minimax": "cl100k_base",
}
DEFAULT_ENCODING = "cl100k_base"


@lru_cache(maxsize=2)
def _encoding(name: str) -> bpe_openai.Encoding:
    # Imported here, not at the top: importing the package alone costs ~63 MiB per worker
    # (measured), which a proxy that never needs a count should not pay.
    import bpe_openai  # noqa: PLC0415

    return bpe_openai.get_encoding(name)


def encoding_for(family: str) -> str:
    return ENCODING_BY_FAMILY.get(family, DEFAULT_ENCODING)


SLICE_CHARS = 40_000  # bpe-openai refuses texts of 1,000,000 characters or 200,000 tokens (<= 4 a character)


def count_tokens(texts: Iterable[str], family: str = "") -> int:
    """Tokens in `texts` under the family's encoding (a text longer than `SLICE_CHARS` is counted
    in slices of at most that many characters, cut before a space where there is one)."""
    encoding = _encoding(encoding_for(family))
    total = 0
    for text in texts:
        if len(text) <= SLICE_CHARS:
            total += len(encoding.encode_ordinary(text)) if text else 0
            continue
        at = 0
        while at < len(text):
            end = at + SLICE_CHARS
            if end < len(text):
                space = text.rfind(" ", at + SLICE_CHARS // 2, end)
                end = space if space > 0 else end
            total += len(encoding.encode_ordinary(text[at:end]))
            at = end
    return total
