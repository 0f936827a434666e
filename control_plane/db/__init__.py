"""PostgreSQL edge: the only package that runs SQL. Returns plain values and Structs; no business rules."""
