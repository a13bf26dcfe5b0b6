"""CSV files that leave the store are opened in spreadsheets: a cell that a spreadsheet would run as
a formula is written as text (a leading ``'``), and importing the file reads every cell back as it
was, so export -> import gives the same products."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select

from catalog.csvfile import FORMULA_STARTS, escape_cell, unescape_cell, write_csv
from catalog.importer import export_products, import_products
from services.centers import import_centers
from store.models import Product, ServiceCenter

HOSTILE = ['=HYPERLINK("http://x","y")', "+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "'=x", "''@x", "-"]


def test_a_formula_cell_is_written_as_text_and_reads_back_unchanged():
    for value in HOSTILE:
        written = escape_cell(value)
        assert written == "'" + value and not written.startswith(FORMULA_STARTS), value
        assert unescape_cell(written) == value, value
    # Everything else is written as it is, a quote of its own included, and reads back as it is.
    for value in ("Rice", "'quoted'", "'", "", "1+1", "a=b", "'a=b"):
        assert escape_cell(value) == value and unescape_cell(value) == value, value


def test_a_number_column_keeps_plain_numbers_and_a_text_column_does_not():
    text = write_csv(["name", "price"], [["-2", "-2.50"], ["+1", "+1"], ["-2+3", "-2+3"]], numbers=["price"])
    assert text.split("\r\n") == ["name,price", "'-2,-2.50", "'+1,'+1", "'-2+3,'-2+3", ""]


async def products(store) -> list[tuple]:
    async with store.read() as session:
        return [(p.sku, p.category_id, p.price_fen, p.unit, p.stock, p.names, p.descriptions, p.photo, p.keywords)
                for p in await session.scalars(select(Product).order_by(Product.sku))]


async def test_hostile_cells_survive_export_then_import(demo_store, clock):
    async with demo_store.write() as session:
        chosen = (await session.scalars(select(Product).order_by(Product.sku).limit(len(HOSTILE)))).all()
        for product, value in zip(chosen, HOSTILE):
            product.names = {**product.names, "en": value}
            product.descriptions = {"zh": value, "fr": value}
            product.unit = value
            if not value[0].isspace():  # the importer trims each keyword
                product.keywords = [value, "米"]
    before = await products(demo_store)

    exported = await export_products(demo_store)
    rows = list(csv.reader(io.StringIO(exported, newline="")))
    assert not [cell for row in rows for cell in row if cell.startswith(FORMULA_STARTS)]
    by_sku = {row[0]: dict(zip(rows[0], row)) for row in rows[1:]}
    first = by_sku[chosen[0].sku]
    assert first["name:en"] == '\'=HYPERLINK("http://x","y")' and first["description:fr"] == first["name:en"]
    assert first["price"][0].isdigit() and first["stock"].isdigit()  # numbers stay numbers

    # Someone changes the names; importing the exported file puts every cell back as it was.
    async with demo_store.write() as session:
        for product in await session.scalars(select(Product)):
            product.names, product.unit = {"zh": "改"}, "bag"
    report = await import_products(demo_store, clock.now(), exported.encode("utf-8"))
    assert report.ok and report.updated == len(by_sku)
    assert await products(demo_store) == before
    assert await export_products(demo_store) == exported


async def test_a_centers_file_reads_escaped_cells_back(demo_store):
    data = ("code,name:zh,name:en,county,address,latitude,longitude,opening_hours\n"
            "CG-01,上元村服务站,'=Shangyuan,城固县,'-3 Lane,33.17,-107.45,08:00-20:00\n").encode("utf-8")
    report = await import_centers(demo_store, data)
    assert report.ok and report.updated == 1
    async with demo_store.read() as session:
        center = await session.scalar(select(ServiceCenter).where(ServiceCenter.code == "CG-01"))
    assert (center.names["en"], center.address, center.longitude) == ("=Shangyuan", "-3 Lane", -107.45)
