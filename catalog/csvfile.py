"""Reading the CSV files admins hand us: UTF-8 with a header row, every bad row reported with its
line number. A file with any bad row changes nothing.

Writing them: a text cell that a spreadsheet would run as a formula (it starts with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return: OWASP's "CSV injection") gets one ``'`` in front, which
spreadsheets read as "this is text". Reading takes exactly that one quote off again. So that this
is reversible, a cell that already starts with quotes followed by one of those characters gets
one more quote too: ``'=x`` is written ``''=x`` and read back as ``'=x``.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from locales import N_

MAX_FILE_BYTES = 20 * 1024 * 1024
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"
# A number column's cell that is a plain number stays one, so that a spreadsheet can add it up.
_PLAIN_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def _runs_as_formula(value: str) -> bool:
    """Starts with a formula character, or with quotes and then one (whose quote must be kept)."""
    return value.lstrip(QUOTE).startswith(FORMULA_STARTS)


def escape_cell(value: str) -> str:
    """The cell as written: a spreadsheet reads it as text, never as a formula."""
    return QUOTE + value if _runs_as_formula(value) else value


def unescape_cell(cell: str) -> str:
    """The value a written cell holds: ``escape_cell`` undone, and any other cell as it is."""
    return cell[1:] if cell.startswith(QUOTE) and _runs_as_formula(cell[1:]) else cell


@dataclass(frozen=True, slots=True)
class RowError:
    """A bad row. ``message`` is a msgid, formatted with ``params`` after translation."""

    line: int
    message: str
    params: dict = field(default_factory=dict)


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def error_lines(errors: Iterable[RowError], t) -> list[str]:
    """Each bad row as ``line 3: price 'abc' is not a number.``, in ``t``'s language (a
    ``locales.Translator``): how ``rural-bot catalog import`` prints them, and the chat too."""
    return [t("line {line}: {reason}", line=error.line, reason=t(error.message, **error.params)) for error in errors]


class CsvRows:
    """The rows of a CSV file as (line number, {column: stripped value})."""

    def __init__(self, header: list[str], rows: list[tuple[int, dict[str, str]]]):
        self.header = header
        self.rows = rows


def read_csv(data: bytes, required: Iterable[str]) -> CsvRows | list[RowError]:
    if len(data) > MAX_FILE_BYTES:
        return [RowError(0, N_("The file is larger than {limit} MB."), {"limit": MAX_FILE_BYTES >> 20})]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return [RowError(line, N_("The file is not UTF-8 text."))]
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [name.strip() for name in next(reader)]
    except StopIteration:
        return [RowError(1, N_("The file is empty: a header row is needed."))]
    except csv.Error as exc:
        return [RowError(1, N_("The row cannot be read as CSV: {reason}"), {"reason": str(exc)})]
    missing = [name for name in required if name not in header]
    if missing:
        return [RowError(1, N_("Missing columns: {columns}"), {"columns": ", ".join(missing)})]
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        return [RowError(1, N_("Repeated columns: {columns}"), {"columns": ", ".join(duplicates)})]

    rows: list[tuple[int, dict[str, str]]] = []
    errors: list[RowError] = []
    line = 1
    while True:
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            errors.append(RowError(reader.line_num, N_("The row cannot be read as CSV: {reason}"),
                                   {"reason": str(exc)}))
            break
        line = reader.line_num
        if not any(value.strip() for value in values):
            continue
        if len(values) != len(header):
            errors.append(RowError(line, N_("Expected {expected} fields but found {found}."),
                                   {"expected": len(header), "found": len(values)}))
            continue
        rows.append((line, {name: unescape_cell(value.strip()) for name, value in zip(header, values)}))
    if errors:
        return errors
    return CsvRows(header, rows)


def parse_rows(table: CsvRows, parse_row, key: str, repeated: str, empty: str) -> tuple[list[dict], list[RowError]]:
    """Parse every row with ``parse_row(line, row, header) -> (item | None, errors)``; a ``key``
    seen on an earlier line is an error (msgid ``repeated``), and so is a file with no rows."""
    items: list[dict] = []
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    for line, row in table.rows:
        item, row_errors = parse_row(line, row, table.header)
        errors.extend(row_errors)
        if item is None:
            continue
        if item[key] in seen:
            errors.append(RowError(line, repeated, {"value": item[key], "other": seen[item[key]]}))
            continue
        seen[item[key]] = line
        items.append(item)
    if not items and not errors:
        errors.append(RowError(2, empty))
    return items, errors


def localized_columns(row: dict[str, str], header: list[str], prefix: str) -> dict[str, str]:
    """The non-empty ``prefix:<lang>`` cells of a row: {"zh": ..., "en": ...}."""
    return {lang: row[f"{prefix}:{lang}"] for lang in columns_with_prefix(header, prefix) if row[f"{prefix}:{lang}"]}


def parse_decimal(text: str) -> Decimal | None:
    try:
        value = Decimal(text.replace(",", "").strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def write_csv(header: list[str], rows: Iterable[list[str]], numbers: Iterable[str] = ()) -> str:
    """The rows as CSV text, each cell through ``escape_cell``, except a plain number (``-2.50``)
    in one of the ``numbers`` columns, which stays a number."""
    numeric = [name in set(numbers) for name in header]

    def cell(value: str, is_number: bool) -> str:
        return value if is_number and _PLAIN_NUMBER.fullmatch(value) else escape_cell(value)

    out = io.StringIO(newline="")
    # Lines end in CRLF (RFC 4180): then a cell holding a lone carriage return is quoted too.
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([cell(value, is_number) for value, is_number in zip(row, numeric)] for row in rows)
    return out.getvalue()


def columns_with_prefix(header: list[str], prefix: str) -> list[str]:
    """Language suffixes of columns such as ``name:zh``, ``name:en``."""
    return [name.split(":", 1)[1] for name in header if name.startswith(prefix + ":") and name.split(":", 1)[1]]
