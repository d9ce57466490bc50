"""Text and table rows from report files: PDF, XLSX, CSV, DOCX, HTML, text; untrusted input kept in bounds.

    extract(data, filename, limits) -> Extracted

The format is checked twice, by name and by content, and a mismatch is refused. Text, CSV and HTML are
parsed here with the standard library; PDF, XLSX and DOCX parsers run in a child process that is
stopped at the time limit (see isolate.py). Parsers are imported only when a file needs them.
"""

from corpus.extract.base import Extracted, Limits, Record
from corpus.extract.dispatch import extract
from corpus.extract.sniff import SUFFIXES

__all__ = ["SUFFIXES", "Extracted", "Limits", "Record", "extract"]
