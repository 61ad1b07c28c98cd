"""The emulator's token count and the mock model's answers: deterministic and written down.

Real tokenizers are model-specific (and a large download); the emulator needs counts a user can
predict on paper, so the lab's numbers come out the same on every machine:

- a text is ceil(characters / 4) tokens (OpenAI's rule of thumb "one token is about four
  characters of English"), at least 1 for a non-empty text;
- a chat prompt is 3 tokens per message plus its content (and `name`), plus 3 for the reply;
- a completions prompt, and every embeddings input, is its text;
- the mock answers with `max_completion_tokens` (or `max_tokens`) tokens, else
  MOCK_COMPLETION_TOKENS; each token is the word `tok` followed by a space, so the answer's own
  text counts to the same number.

The same count is the gateway's prompt estimate, so the mock backend's usage always equals the
estimate (the `estimates: exact` assumption `simulate` prints).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

#: Answer length when the request does not ask for one.
MOCK_COMPLETION_TOKENS = 16
#: Tokens a chat message costs beyond its content, and the reply's own priming.
PER_MESSAGE_TOKENS = 3
REPLY_PRIMING_TOKENS = 3
#: One mock token; four characters, so the answer's text counts to its own length.
MOCK_WORD = "tok "
#: Length of a mock embedding vector.
EMBEDDING_DIMENSIONS = 8


def text_tokens(text: str) -> int:
    return math.ceil(len(text) / 4)


def _content_text(content: Any) -> str:
    """A message's content: a string, or the text parts of a list of content parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def chat_prompt_tokens(messages: Iterable[Any]) -> int:
    total = REPLY_PRIMING_TOKENS
    for message in messages:
        if not isinstance(message, dict):
            continue
        total += PER_MESSAGE_TOKENS + text_tokens(_content_text(message.get("content")))
        if isinstance(message.get("name"), str):
            total += text_tokens(message["name"])
    return total


def _inputs(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def prompt_tokens(operation: str, body: dict[str, Any]) -> int:
    """The prompt tokens of a request body, for `operation` (chat, completions, embeddings)."""
    if operation == "chat":
        messages = body.get("messages")
        return chat_prompt_tokens(messages if isinstance(messages, list) else [])
    if operation == "completions":
        return sum(text_tokens(text) for text in _inputs(body.get("prompt"))) or 1
    return sum(text_tokens(text) for text in _inputs(body.get("input"))) or 1


def completion_tokens(operation: str, body: dict[str, Any]) -> int:
    """How long the mock's answer is: what the request asks for, else MOCK_COMPLETION_TOKENS."""
    if operation == "embeddings":
        return 0
    for name in ("max_completion_tokens", "max_tokens"):
        value = body.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return MOCK_COMPLETION_TOKENS


def mock_text(tokens: int) -> str:
    return (MOCK_WORD * tokens).rstrip()


def mock_embedding(text: str, index: int) -> list[float]:
    """A fixed vector derived from the text's length, so equal inputs embed equally."""
    seed = len(text) + index
    return [round(((seed * (i + 7)) % 97) / 97, 4) for i in range(EMBEDDING_DIMENSIONS)]
