//! The `madoguchi` program, built inside the test package so that integration tests can start
//! it as a child process (and kill it with SIGKILL) without a separate build step.

fn main() -> anyhow::Result<()> {
    madoguchi::main()
}
