"""Example systems built on Phyxius, each with its own test suite."""
