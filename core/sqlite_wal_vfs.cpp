// The write-ahead-log buffering VFS (core/sqlite_wal_vfs.h).
#include "core/sqlite_wal_vfs.h"

#include <sqlite3.h>

#include <algorithm>
#include <cstring>
#include <new>
#include <string>

namespace wangge::core {
namespace {

// Past this, gathered log writes go out at once (a big transaction).
constexpr size_t kMaxGathered = 1u << 20;
// The unix VFS takes at most 128 KiB - 1 per write (it masks the length with
// 0x1ffff): a flush goes out in pieces of 124 KiB.
constexpr size_t kMaxWrite = 124u << 10;

struct Gathered {
  std::string bytes;
  sqlite3_int64 at = 0;  // file offset of bytes[0]
};

// SQLite allocates szOsFile bytes per open file: this header, then the
// default VFS's own file object.
struct File {
  sqlite3_file base;  // first: SQLite sees this
  sqlite3_file* real;
  Gathered* gathered;  // a -wal file's pending writes, else nullptr
  File* database;      // a -wal file's database file, if it is one of ours
  File* log;           // a database file's open -wal file
};

constexpr size_t kRealOffset = (sizeof(File) + 15) & ~size_t{15};

// Ours keeps the default VFS as its application data.
sqlite3_vfs* Under(sqlite3_vfs* ours) {
  return static_cast<sqlite3_vfs*>(ours->pAppData);
}

File* Of(sqlite3_file* f) { return reinterpret_cast<File*>(f); }
const sqlite3_io_methods* Real(File* f) { return f->real->pMethods; }

int Flush(File* f) {
  if (!f->gathered || f->gathered->bytes.empty()) return SQLITE_OK;
  Gathered& g = *f->gathered;
  int rc = SQLITE_OK;
  for (size_t done = 0; done < g.bytes.size() && rc == SQLITE_OK;) {
    size_t n = std::min(kMaxWrite, g.bytes.size() - done);
    rc = Real(f)->xWrite(f->real, g.bytes.data() + done, int(n),
                         g.at + sqlite3_int64(done));
    done += n;
  }
  g.bytes.clear();
  return rc;
}

int Close(sqlite3_file* file) {
  File* f = Of(file);
  int flushed = Flush(f);
  if (f->database && f->database->log == f) f->database->log = nullptr;
  if (f->log && f->log->database == f) f->log->database = nullptr;
  delete f->gathered;
  f->gathered = nullptr;
  int rc = Real(f)->xClose(f->real);
  return flushed != SQLITE_OK ? flushed : rc;
}

int Read(sqlite3_file* file, void* out, int n, sqlite3_int64 at) {
  File* f = Of(file);
  if (int rc = Flush(f); rc != SQLITE_OK) return rc;
  return Real(f)->xRead(f->real, out, n, at);
}

int Write(sqlite3_file* file, const void* in, int n, sqlite3_int64 at) {
  File* f = Of(file);
  if (!f->gathered) return Real(f)->xWrite(f->real, in, n, at);
  Gathered& g = *f->gathered;
  bool follows = !g.bytes.empty() &&
                 at == g.at + static_cast<sqlite3_int64>(g.bytes.size());
  if (!follows) {
    if (int rc = Flush(f); rc != SQLITE_OK) return rc;
    g.at = at;
  }
  try {
    g.bytes.append(static_cast<const char*>(in), size_t(n));
  } catch (const std::bad_alloc&) {
    // Out of memory: what was gathered, then this write, directly.
    if (int rc = Flush(f); rc != SQLITE_OK) return rc;
    return Real(f)->xWrite(f->real, in, n, at);
  }
  return g.bytes.size() >= kMaxGathered ? Flush(f) : SQLITE_OK;
}

int Truncate(sqlite3_file* file, sqlite3_int64 size) {
  File* f = Of(file);
  if (int rc = Flush(f); rc != SQLITE_OK) return rc;
  return Real(f)->xTruncate(f->real, size);
}

int Sync(sqlite3_file* file, int flags) {
  File* f = Of(file);
  if (int rc = Flush(f); rc != SQLITE_OK) return rc;
  return Real(f)->xSync(f->real, flags);
}

int FileSize(sqlite3_file* file, sqlite3_int64* size) {
  File* f = Of(file);
  if (int rc = Flush(f); rc != SQLITE_OK) return rc;
  return Real(f)->xFileSize(f->real, size);
}

int Lock(sqlite3_file* file, int level) {
  return Real(Of(file))->xLock(Of(file)->real, level);
}

int Unlock(sqlite3_file* file, int level) {
  return Real(Of(file))->xUnlock(Of(file)->real, level);
}

int CheckReservedLock(sqlite3_file* file, int* out) {
  return Real(Of(file))->xCheckReservedLock(Of(file)->real, out);
}

int FileControl(sqlite3_file* file, int op, void* arg) {
  File* f = Of(file);
  if (int rc = Flush(f); rc != SQLITE_OK) return rc;
  return Real(f)->xFileControl(f->real, op, arg);
}

int SectorSize(sqlite3_file* file) {
  return Real(Of(file))->xSectorSize(Of(file)->real);
}

int DeviceCharacteristics(sqlite3_file* file) {
  return Real(Of(file))->xDeviceCharacteristics(Of(file)->real);
}

int ShmMap(sqlite3_file* file, int region, int size, int extend,
           void volatile** out) {
  File* f = Of(file);
  if (Real(f)->iVersion < 2 || !Real(f)->xShmMap) return SQLITE_IOERR_SHMMAP;
  return Real(f)->xShmMap(f->real, region, size, extend, out);
}

int ShmLock(sqlite3_file* file, int offset, int n, int flags) {
  File* f = Of(file);
  if (Real(f)->iVersion < 2 || !Real(f)->xShmLock) return SQLITE_IOERR_SHMLOCK;
  // Before the log's write lock goes: what is still gathered then is a
  // rolled-back transaction's spilled frames (a commit wrote its own at
  // the barrier). Written now, as SQLite itself would have, while no one
  // else can write there; later it would land on another's frames.
  if ((flags & SQLITE_SHM_UNLOCK) && f->log) (void)Flush(f->log);
  return Real(f)->xShmLock(f->real, offset, n, flags);
}

// SQLite calls this between writing the two copies of the index header that
// publish new frames: the frames must be in the file before readers may look.
void ShmBarrier(sqlite3_file* file) {
  File* f = Of(file);
  if (f->log) (void)Flush(f->log);  // no way to report a failure here
  if (Real(f)->iVersion >= 2 && Real(f)->xShmBarrier) {
    Real(f)->xShmBarrier(f->real);
  }
}

int ShmUnmap(sqlite3_file* file, int remove) {
  File* f = Of(file);
  if (Real(f)->iVersion < 2 || !Real(f)->xShmUnmap) return SQLITE_OK;
  return Real(f)->xShmUnmap(f->real, remove);
}

int Fetch(sqlite3_file* file, sqlite3_int64 at, int n, void** out) {
  File* f = Of(file);
  *out = nullptr;
  if (int rc = Flush(f); rc != SQLITE_OK) return rc;
  if (Real(f)->iVersion < 3 || !Real(f)->xFetch) return SQLITE_OK;
  return Real(f)->xFetch(f->real, at, n, out);
}

int Unfetch(sqlite3_file* file, sqlite3_int64 at, void* p) {
  File* f = Of(file);
  if (Real(f)->iVersion < 3 || !Real(f)->xUnfetch) return SQLITE_OK;
  return Real(f)->xUnfetch(f->real, at, p);
}

const sqlite3_io_methods kMethods = {
    3,
    Close,
    Read,
    Write,
    Truncate,
    Sync,
    FileSize,
    Lock,
    Unlock,
    CheckReservedLock,
    FileControl,
    SectorSize,
    DeviceCharacteristics,
    ShmMap,
    ShmLock,
    ShmBarrier,
    ShmUnmap,
    Fetch,
    Unfetch,
};

int Open(sqlite3_vfs* vfs, sqlite3_filename name, sqlite3_file* file, int flags,
         int* out_flags) {
  File* f = Of(file);
  std::memset(f, 0, sizeof(File));
  f->real =
      reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(f) + kRealOffset);
  sqlite3_vfs* real = Under(vfs);
  int rc = real->xOpen(real, name, f->real, flags, out_flags);
  // SQLite calls xClose whenever pMethods is set, even after an error.
  f->base.pMethods = f->real->pMethods ? &kMethods : nullptr;
  if (rc != SQLITE_OK || !f->base.pMethods) return rc;
  if ((flags & SQLITE_OPEN_WAL) && name) {
    f->gathered = new (std::nothrow) Gathered;  // none: writes go directly
    sqlite3_file* db = sqlite3_database_file_object(name);
    if (db && db->pMethods == &kMethods) {
      f->database = Of(db);
      f->database->log = f;
    }
  }
  return rc;
}

int Delete(sqlite3_vfs* vfs, const char* name, int sync_dir) {
  return Under(vfs)->xDelete(Under(vfs), name, sync_dir);
}
int Access(sqlite3_vfs* vfs, const char* name, int flags, int* out) {
  return Under(vfs)->xAccess(Under(vfs), name, flags, out);
}
int FullPathname(sqlite3_vfs* vfs, const char* name, int n, char* out) {
  return Under(vfs)->xFullPathname(Under(vfs), name, n, out);
}
void* DlOpen(sqlite3_vfs* vfs, const char* name) {
  return Under(vfs)->xDlOpen(Under(vfs), name);
}
void DlError(sqlite3_vfs* vfs, int n, char* out) {
  Under(vfs)->xDlError(Under(vfs), n, out);
}
void (*DlSym(sqlite3_vfs* vfs, void* lib, const char* sym))(void) {
  return Under(vfs)->xDlSym(Under(vfs), lib, sym);
}
void DlClose(sqlite3_vfs* vfs, void* lib) {
  Under(vfs)->xDlClose(Under(vfs), lib);
}
int Randomness(sqlite3_vfs* vfs, int n, char* out) {
  return Under(vfs)->xRandomness(Under(vfs), n, out);
}
int Sleep(sqlite3_vfs* vfs, int us) {
  return Under(vfs)->xSleep(Under(vfs), us);
}
int CurrentTime(sqlite3_vfs* vfs, double* out) {
  return Under(vfs)->xCurrentTime(Under(vfs), out);
}
int GetLastError(sqlite3_vfs* vfs, int n, char* out) {
  return Under(vfs)->xGetLastError
             ? Under(vfs)->xGetLastError(Under(vfs), n, out)
             : 0;
}
int CurrentTimeInt64(sqlite3_vfs* vfs, sqlite3_int64* out) {
  return Under(vfs)->xCurrentTimeInt64(Under(vfs), out);
}

sqlite3_vfs* Register() {
  sqlite3_vfs* real = sqlite3_vfs_find(nullptr);
  if (!real || real->iVersion < 2 || !real->xCurrentTimeInt64) return nullptr;
  static sqlite3_vfs vfs = {};
  vfs.iVersion = 2;
  vfs.szOsFile = int(kRealOffset) + real->szOsFile;
  vfs.mxPathname = real->mxPathname;
  vfs.zName = "wangge-wal-gather";
  vfs.pAppData = real;
  vfs.xOpen = Open;
  vfs.xDelete = Delete;
  vfs.xAccess = Access;
  vfs.xFullPathname = FullPathname;
  vfs.xDlOpen = DlOpen;
  vfs.xDlError = DlError;
  vfs.xDlSym = DlSym;
  vfs.xDlClose = DlClose;
  vfs.xRandomness = Randomness;
  vfs.xSleep = Sleep;
  vfs.xCurrentTime = CurrentTime;
  vfs.xGetLastError = GetLastError;
  vfs.xCurrentTimeInt64 = CurrentTimeInt64;
  if (sqlite3_vfs_register(&vfs, 0) != SQLITE_OK) return nullptr;
  return &vfs;
}

}  // namespace

const char* WalBufferVfs() {
  static sqlite3_vfs* vfs = Register();
  return vfs ? vfs->zName : nullptr;
}

}  // namespace wangge::core
