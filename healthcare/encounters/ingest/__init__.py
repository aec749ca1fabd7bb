"""Plain-Python parsers of patient-flow files. They validate and normalise; they never touch the database.

Each parser returns a ParseResult: the valid records, an error per bad record (naming the
file, line or resource, and field), and what was out of scope. The services store them.
"""
