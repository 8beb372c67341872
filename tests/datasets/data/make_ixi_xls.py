"""Regenerate ``IXI.xls``, the small demographics spreadsheet the IXI tests read (run by hand, not by pytest).

It mimics the real IXI.xls (sheet ``Table`` with the real column names, code sheets beside it,
duplicate rows, 0 or empty for unknown) for the subjects of the fabricated IXI archives
(tests/datasets/conftest.py). Writing .xls needs xlwt, which is not a project dependency::

    python -m venv /tmp/xlwt && /tmp/xlwt/bin/pip install xlwt==1.3.0
    /tmp/xlwt/bin/python tests/datasets/data/make_ixi_xls.py
"""

import datetime
from pathlib import Path

import xlwt

COLUMNS = ["IXI_ID", "SEX_ID (1=m, 2=f)", "HEIGHT", "WEIGHT", "ETHNIC_ID", "MARITAL_ID", "OCCUPATION_ID",
           "QUALIFICATION_ID", "DOB", "DATE_AVAILABLE", "STUDY_DATE", "AGE"]
# IXI_ID, sex, age (None: empty cell); IXI012 twice (agreeing), IXI022 twice (ages conflict),
# IXI019 with unknown sex (0) and no age; IXI016 and IXI050 are absent
ROWS = [(2, 2, 35.80013689), (12, 1, 38.78165640), (12, 1, 38.78165640), (13, 1, 46.71047228), (19, 0, None),
        (22, 2, 20.0), (22, 2, 21.0), (35, 2, 37.1), (40, 1, 60.5)]


def main() -> None:
    book = xlwt.Workbook()
    table = book.add_sheet("Table")
    date = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    for column, name in enumerate(COLUMNS):
        table.write(0, column, name)
    for row, (ixi_id, sex, age) in enumerate(ROWS, start=1):
        values = [ixi_id, sex, 170, 70, 1, 2, 1, 4]
        for column, value in enumerate(values):
            table.write(row, column, value)
        table.write(row, 8, datetime.date(1960, 1, 1), date)
        table.write(row, 9, 1)
        table.write(row, 10, datetime.date(2005, 6, 1), date)
        if age is not None:
            table.write(row, 11, age)
    for sheet, label in (("Ethnicity", "ETHNIC"), ("Marital Status", "MARITAL"), ("Occupation", "OCCUPATION"), ("Qualification", "QUALIFICATION")):
        codes = book.add_sheet(sheet)
        codes.write(0, 0, "ID")
        codes.write(0, 1, label)
        codes.write(1, 0, 1)
        codes.write(1, 1, "example")
    book.save(str(Path(__file__).with_name("IXI.xls")))


if __name__ == "__main__":
    main()
