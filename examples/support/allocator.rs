//! The process's allocator: mimalloc instead of the system's malloc.
//!
//! Why: Candle allocates a fresh buffer for every tensor of every training
//! batch (activations, gradients, several MB each) and drops it at the end
//! of the batch. glibc's malloc hands such blocks back to the kernel (mmap
//! threshold, arena trimming) and takes them again on the next batch, so
//! every batch can pay page faults and page clearing. Whether it does
//! depends on the process's heap history: in the main job (this example,
//! 2 threads, 2 epochs) glibc took 621,000 page faults and trained at 750
//! series/s, against 9,000 and about 900 series/s with mimalloc, which keeps
//! freed pages for reuse; the speed bench's process happened not to hit it
//! (BENCHMARKS.md, speed). Binaries choose the allocator; the library does
//! not.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
