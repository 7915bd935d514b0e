"""Blank import templates (导入模板) built from a spec's columns, as .xlsx and as .csv.

The xlsx has the header row (required columns in red), one example row (its first cell starts with
“示例”, so the importer skips it), drop-down lists of names for coded columns (kept on a hidden
sheet; a warning, not a stop, so a code such as ``01`` can still be typed), text format on the ID,
phone and household-number columns so Excel does not turn them into numbers, and a sheet of
instructions. The CSV is UTF-8 with BOM, header plus example row.
"""

import csv
import io

from .columns import Column, load_code_table

DATA_ROWS = 20_000  # how far down the drop-downs and formats reach


def xlsx_template(spec) -> bytes:
    import xlsxwriter
    from xlsxwriter.utility import xl_col_to_name

    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(
        buffer, {"in_memory": True, "strings_to_formulas": False, "strings_to_numbers": False}
    )
    data = workbook.add_worksheet("导入数据")
    guide = workbook.add_worksheet("填写说明")
    lists = workbook.add_worksheet("代码表")
    required = workbook.add_format(
        {"bold": True, "font_color": "#C00000", "bg_color": "#FCE4D6", "border": 1}
    )
    optional = workbook.add_format({"bold": True, "bg_color": "#E8EEF7", "border": 1})
    example = workbook.add_format({"italic": True, "font_color": "#7F7F7F", "num_format": "@"})
    text = workbook.add_format({"num_format": "@"})
    date = workbook.add_format({"num_format": "yyyy-mm-dd"})

    list_column = 0
    for index, column in enumerate(spec.columns):
        fmt = text if column.as_text or column.kind in ("text", "code", "house", "area") else None
        if column.kind == "date":
            fmt = date
        data.set_column(index, index, column.width, fmt)
        data.write_string(0, index, column.header, required if column.required else optional)
        if column.example:
            data.write_string(1, index, column.example, example)
        if column.kind == "code":
            names = list(load_code_table(column.table).codes.values())
            lists.write_string(0, list_column, column.header)
            for offset, name in enumerate(names, start=1):
                lists.write_string(offset, list_column, name)
            letter = xl_col_to_name(list_column)
            data.data_validation(
                1, index, DATA_ROWS, index,
                {
                    "validate": "list",
                    "source": f"=代码表!${letter}$2:${letter}${len(names) + 1}",
                    "error_type": "warning",
                    "error_title": column.header,
                    "error_message": "请从下拉列表选择，或填写代码表中的代码",
                    "input_title": column.header,
                    "input_message": (column.help or "可从下拉列表选择，也可填写代码")[:255],
                },
            )  # fmt: skip
            list_column += 1
        elif column.help:
            data.data_validation(
                1, index, DATA_ROWS, index,
                {"validate": "any", "input_title": column.header, "input_message": column.help[:255]},
            )  # fmt: skip
    data.freeze_panes(1, 0)
    lists.hide()

    guide.set_column(0, 0, 16)
    guide.set_column(1, 1, 8)
    guide.set_column(2, 2, 80)
    guide.write_row(0, 0, ["列名", "必填", "说明"], optional)
    for row, column in enumerate(spec.columns, start=1):
        guide.write_string(row, 0, column.header)
        guide.write_string(row, 1, "是" if column.required else "")
        guide.write_string(row, 2, describe(column))
    notes = [
        "第一行为表头，请勿修改；第二行为示例（以“示例”开头的行导入时自动跳过），可删除。",
        "身份证号、联系电话、户号列已设为文本格式；从其他表格粘贴时请选择“只粘贴值”，避免被转成科学计数法。",
        "同一户的成员填写相同户号，每户必须有且只有一名“户主”。",
        "导入前系统会先校验全部数据（试导入），有任何错误都不会导入；全部正确后确认导入，要么全部成功，要么全部不导入。",
        "也可另存为 CSV（UTF-8 或 GBK 编码均可）后上传。",
    ]
    for offset, line in enumerate(notes, start=len(spec.columns) + 3):
        guide.write_string(offset, 0, line)
    workbook.close()
    return buffer.getvalue()


def describe(column: Column) -> str:
    parts = [column.help] if column.help else []
    if column.kind == "code":
        parts.append("填写代码或名称，见下拉列表")
    if column.kind == "date":
        parts.append("格式 1980-05-17")
    if column.max_length:
        parts.append(f"不超过 {column.max_length} 字")
    aliases = [a for a in column.aliases if a.isascii()]
    if aliases:
        parts.append("英文列名 " + " / ".join(aliases[:3]))
    return "；".join(parts)


def csv_template(spec) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([c.header for c in spec.columns])
    writer.writerow([c.example for c in spec.columns])
    return b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8")
