"""Character vocabularies: text to padded token ids and back, for the text tasks' models.

Ids `0 .. len(specials) - 1` are the special tokens (`0` is always padding, which the models
mask); the characters follow in sorted order. The same table goes into the served SavedModel
as TensorFlow lookup tables (`rnnkeras.pipeline.tasks.translation`), so the served model reads
text without rnnkeras.
"""

import dataclasses

import numpy as np

PAD = "<pad>"
UNKNOWN = "<unk>"
START = "<start>"
END = "<end>"


@dataclasses.dataclass(frozen=True)
class CharacterVocabulary:
    """Characters and special tokens, each with a fixed id.

    Args:
        characters: The characters, in id order (`from_texts` sorts them).
        specials: Special tokens taking the first ids; the first must be `PAD`. A source
            vocabulary has `(PAD, UNKNOWN)`, a target one `(PAD, START, END)`.

    Raises:
        ValueError: If `specials` does not start with `PAD`, or a character is not one
            character long or occurs twice.

    Example:

    >>> vocabulary = CharacterVocabulary.from_texts(["ab", "ba"], (PAD, START, END))
    >>> vocabulary.encode(["ab", "b"], end=True).tolist()
    [[3, 4, 2], [4, 2, 0]]
    >>> vocabulary.decode([[3, 4, 2], [4, 2, 0]])
    ['ab', 'b']
    """

    characters: tuple[str, ...]
    specials: tuple[str, ...] = (PAD, UNKNOWN)

    def __post_init__(self):
        if not self.specials or self.specials[0] != PAD:
            raise ValueError(
                f"CharacterVocabulary expects specials to start with {PAD!r} (id 0 is padding). "
                f"Received: specials={self.specials!r}"
            )
        bad = [c for c in self.characters if not isinstance(c, str) or len(c) != 1]
        if bad or len(set(self.characters)) != len(self.characters):
            raise ValueError(
                "CharacterVocabulary expects distinct single characters. "
                f"Received: characters={self.characters!r}"
            )

    @classmethod
    def from_texts(cls, texts, specials: tuple[str, ...] = (PAD, UNKNOWN)) -> "CharacterVocabulary":
        """The vocabulary of every character in `texts`, sorted by code point."""
        return cls(tuple(sorted({c for text in texts for c in text})), tuple(specials))

    @property
    def size(self) -> int:
        """Number of ids: specials plus characters."""
        return len(self.specials) + len(self.characters)

    def id_of(self, token: str) -> int:
        """The id of a character or special token; `ValueError` naming it if absent."""
        table = self._ids()
        if token not in table:
            raise ValueError(f"Token not in the vocabulary. Received: token={token!r}")
        return table[token]

    def _ids(self) -> dict[str, int]:
        return {token: index for index, token in enumerate((*self.specials, *self.characters))}

    def encode(self, texts, length: int | None = None, end: bool = False) -> np.ndarray:
        """Texts as int32 ids `(len(texts), length)`, padded with `0`.

        Args:
            texts: Strings.
            length: Columns; `None`: the longest text (plus the end token).
            end: Append `END` to every text (target sequences).

        Raises:
            ValueError: For a character outside the vocabulary when there is no `UNKNOWN`
                special, or a text longer than `length`.
        """
        ids = self._ids()
        unknown = ids.get(UNKNOWN)
        rows = []
        for row, text in enumerate(texts):
            tokens = []
            for character in text:
                if character in ids:
                    tokens.append(ids[character])
                elif unknown is not None:
                    tokens.append(unknown)
                else:
                    raise ValueError(
                        f"Character not in the vocabulary {''.join(self.characters)!r}. "
                        f"Received: texts[{row}]={text!r}"
                    )
            if end:
                tokens.append(ids[END])
            rows.append(tokens)
        width = max((len(r) for r in rows), default=0) if length is None else length
        out = np.zeros((len(rows), width), "int32")
        for row, tokens in enumerate(rows):
            if len(tokens) > width:
                raise ValueError(
                    f"Text longer than length={width} tokens. Received: texts[{row}] with "
                    f"{len(tokens)} tokens"
                )
            out[row, : len(tokens)] = tokens
        return out

    def decode(self, ids) -> list[str]:
        """Rows of ids `(batch, steps)` as text: stops at `END`, drops the other specials."""
        tokens = (*self.specials, *self.characters)
        end = self._ids().get(END)
        texts = []
        for row in np.asarray(ids):
            characters = []
            for token in row.tolist():
                if token == end:
                    break
                if len(self.specials) <= token < len(tokens):
                    characters.append(tokens[token])
            texts.append("".join(characters))
        return texts

    def to_dict(self) -> dict:
        """JSON-ready: `{"characters": "...", "specials": [...]}`."""
        return {"characters": "".join(self.characters), "specials": list(self.specials)}

    @classmethod
    def from_dict(cls, data: dict) -> "CharacterVocabulary":
        """The inverse of `to_dict`."""
        return cls(tuple(data["characters"]), tuple(data["specials"]))
