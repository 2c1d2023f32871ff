//! Integration tests live in `tests/tests/`; they drive the runner (`cargo xtask run`).
