"""The prompt: system message + as much recent history as fits the model's context budget,
counted with the model's own tokenizer."""

from __future__ import annotations

from functools import cached_property

from tokenizers import Tokenizer

# Each chat message costs a few tokens of template around its content (role markers, separators).
TEMPLATE_TOKENS_PER_MESSAGE = 6


class TokenCounter:
    def __init__(self, tokenizer_file: str):
        self._path = tokenizer_file

    @cached_property
    def _tokenizer(self) -> Tokenizer:
        return Tokenizer.from_file(self._path)

    def count(self, text: str) -> int:
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)


def prompt_tokens(prompt: list[dict], counter: TokenCounter) -> int:
    """The prompt's size when the LLM server does not report it (llama.cpp's streams do not)."""
    return sum(counter.count(message["content"]) + TEMPLATE_TOKENS_PER_MESSAGE for message in prompt)


# --8<-- [start:trim]
def build_prompt(system_prompt: str, history: list[dict], counter: TokenCounter, budget: int) -> list[dict]:
    """Newest messages first until the budget is spent; the system prompt always stays.
    History is [{role, content}], oldest first, ending with the user's new message."""
    used = counter.count(system_prompt) + TEMPLATE_TOKENS_PER_MESSAGE
    kept: list[dict] = []
    for message in reversed(history):
        cost = counter.count(message["content"]) + TEMPLATE_TOKENS_PER_MESSAGE
        if used + cost > budget and kept:
            break
        kept.append({"role": message["role"], "content": message["content"]})
        used += cost
    # A conversation must not start with the assistant's answer to a question that was cut off.
    while len(kept) > 1 and kept[-1]["role"] == "assistant":
        kept.pop()
    return [{"role": "system", "content": system_prompt}, *reversed(kept)]


# --8<-- [end:trim]
