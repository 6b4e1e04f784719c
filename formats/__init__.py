"""File formats that one process writes and another reads: pydantic schemas (and the environment of the
generated Markdown pages), no torch and none of the other packages, so that every process that reads or writes
a file can import its schema."""
