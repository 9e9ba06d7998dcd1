"""The planted bugs: plain tests pass, simulation finds them, the fixes hold."""
