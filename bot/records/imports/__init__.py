"""Bringing paper ledgers and station lists in from CSV and XLSX, all rows or none."""
