//! Project automation. Run `cargo xtask help`.
fn main() {}
