"""Tests of the auction example, on the Phyxius pytest plugin."""
