"""reform-search: find and compare Japanese municipalities' administrative reform initiatives."""

__version__ = "0.1.0"
__all__ = ["__version__"]
