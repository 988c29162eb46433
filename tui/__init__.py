"""Ferryman: a keyboard-driven terminal file manager for FTP and FTPS servers."""

__version__ = "0.1.0"
