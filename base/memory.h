#pragma once
// The process's allocator. Normal builds link tcmalloc (gperftools'
// tcmalloc_minimal, Debian's libgoogle-perftools-dev): under `bench intake`
// the server spent 11-14% less CPU a report than with glibc's malloc
// (medians of alternating runs, README "Intake"). Sanitizer builds keep glibc's
// malloc, which ASan replaces. These calls hide which one is in use.

#if WANGGE_TCMALLOC
#include <gperftools/malloc_extension_c.h>
#else
#include <malloc.h>
#endif

namespace wangge {

// Gives the pages of freed memory back to the kernel: after loading or
// building a large index, whose temporary shapes (hundreds of MiB at
// 300,000 cells) the allocator would otherwise keep.
inline void ReleaseFreeMemory() {
#if WANGGE_TCMALLOC
  MallocExtension_ReleaseFreeMemory();
#else
  malloc_trim(0);
#endif
}

// For a server that allocates and frees per request on many threads. With
// glibc's defaults the free tops of the thread arenas go back to the kernel
// (madvise) and are faulted in again by the next requests; fixed thresholds
// (16 MiB kept free per arena at most) cut the server's CPU per report by
// 5-10%. tcmalloc keeps per-thread caches of its own and needs nothing.
inline void TuneAllocatorForServer() {
#if !WANGGE_TCMALLOC
  mallopt(M_TRIM_THRESHOLD, 16 << 20);
  mallopt(M_TOP_PAD, 1 << 20);
  mallopt(M_MMAP_THRESHOLD, 4 << 20);
#endif
}

}  // namespace wangge
