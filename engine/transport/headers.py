"""Decoding clients' HPACK header blocks, with a cache for the blocks clients repeat.

An SDK sends the same few header blocks over and over: after the first calls every field is an
index into the connection's dynamic table except the `:path`, which Rust's h2 sends as a
Huffman-coded literal that is not added to the table. Decoding that literal in Python is most of
the cost of a request's headers. A block that leaves the dynamic table as it was decodes the same
way for as long as the table does not change, so its result is kept until a block that changes
the table arrives (then every kept result is dropped).
"""

from __future__ import annotations

from hpack import Decoder

Headers = list[tuple[bytes, bytes]]
CACHED_BLOCKS = 512


class HeaderDecoder:
    def __init__(self, max_header_list_size: int) -> None:
        self._decoder = Decoder(max_header_list_size=max_header_list_size)
        self._table = self._decoder.header_table.dynamic_entries
        self._cache: dict[bytes, Headers] = {}

    def decode(self, block: bytes) -> Headers:
        """The block's (name, value) pairs; raises hpack's HPACKError for a malformed block.
        The list returned may be shared with later calls: do not modify it."""
        cached = self._cache.get(block)
        if cached is not None:
            return cached
        table = self._table
        size, first = len(table), table[0] if table else None
        headers: Headers = self._decoder.decode(block, raw=True)  # type: ignore[assignment]
        if len(table) == size and (table[0] if table else None) is first:
            if len(self._cache) >= CACHED_BLOCKS:
                self._cache.clear()
            self._cache[block] = headers
        else:
            self._cache.clear()
        return headers
