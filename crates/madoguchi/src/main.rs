//! `madoguchi`: the command line of the Madoguchi front-yard platform (see the library).

/// mimalloc: the server allocates many small, short-lived objects per request; glibc malloc
/// showed as a tenth of the CPU in profiles (see docs/benchmarks.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    madoguchi::main()
}
