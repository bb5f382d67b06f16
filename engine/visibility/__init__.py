"""Visibility: the List Filter language, search attributes and the queries they compile to."""
