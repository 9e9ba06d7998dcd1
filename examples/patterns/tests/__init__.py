"""Tests of the architecture patterns, and of the README snippets taken from them."""
