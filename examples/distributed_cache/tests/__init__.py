"""Tests of the distributed cache example, on the plugin's fixtures."""
