"""The fault matrix: each module is one class of fault (issue 19), each test name one row:
the case, then what Ferryman must do about it."""
