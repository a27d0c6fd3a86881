"""Reading the spreadsheets people have: sheets, encodings, columns, rows, and the import run."""
