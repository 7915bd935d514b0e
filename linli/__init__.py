"""Linli 邻里: one registry of residents, households and houses, and the community work built on it."""

__version__ = "0.1.0"
