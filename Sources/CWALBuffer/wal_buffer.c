// A thin SQLite VFS over the default one that gathers the writes to write-ahead logs.
//
// SQLite writes each WAL frame with two pwrite calls, its 24-byte header and its page, so
// a commit of N pages makes 2N system calls. Under load that was a fifth of the writer's
// time. This VFS keeps consecutive WAL writes in a buffer and hands them to the real file
// in one write before anything could depend on them: before a sync (so a commit is as
// durable as before), before a read, truncation or size query of that log, before its
// database's shared-memory barrier (which SQLite passes through before publishing a new
// wal-index header, so no reader is ever told of a frame not yet written), and on close.
// Data never synced was never committed, so losing the buffer in a crash loses nothing
// acknowledged. Every other call goes straight to the default VFS.
//
// Written by hand because neither GRDB nor SQLite offers it: SQLite's own options change
// when it syncs, not how it writes frames.
#include "wal_buffer.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <string.h>

enum {
  BUFFER_CAPACITY = 4 << 20,
  // The default VFS writes at most 128 KiB - 1 bytes per call (it masks the length to
  // 17 bits and reports SQLITE_FULL for the rest), so a flush goes in pieces this big.
  WRITE_PIECE = 64 << 10,
};

typedef struct BufferedFile BufferedFile;
struct BufferedFile {
  sqlite3_file base;
  sqlite3_file *real;  // the default VFS's file, just past this struct
  BufferedFile *wal;   // on a database file: its open log, if any
  BufferedFile *db;    // on a log: its database file
  int is_wal;
  unsigned char *buffer;  // on a log, from its first write
  sqlite3_int64 start;
  int length;
};

static sqlite3_vfs *real_vfs;
static sqlite3_vfs buffered_vfs;
static sqlite3_io_methods buffered_methods;
static int registration_result = SQLITE_OK;
static atomic_llong requested_writes, written_writes;

static int flush(BufferedFile *file) {
  int length = file->length;
  file->length = 0;
  for (int done = 0; done < length; done += WRITE_PIECE) {
    int piece = length - done < WRITE_PIECE ? length - done : WRITE_PIECE;
    atomic_fetch_add(&written_writes, 1);
    int rc = file->real->pMethods->xWrite(file->real, file->buffer + done, piece, file->start + done);
    if (rc != SQLITE_OK) return rc;
  }
  return SQLITE_OK;
}

static int buffered_close(sqlite3_file *handle) {
  BufferedFile *file = (BufferedFile *)handle;
  int rc = SQLITE_OK;
  if (file->buffer) {
    rc = flush(file);
    sqlite3_free(file->buffer);
    file->buffer = NULL;
  }
  if (file->db && file->db->wal == file) file->db->wal = NULL;
  if (file->wal && file->wal->db == file) file->wal->db = NULL;
  int closed = file->real->pMethods->xClose(file->real);
  return rc != SQLITE_OK ? rc : closed;
}

static int buffered_read(sqlite3_file *handle, void *out, int amount, sqlite3_int64 offset) {
  BufferedFile *file = (BufferedFile *)handle;
  if (file->length > 0 && offset < file->start + file->length && offset + amount > file->start) {
    int rc = flush(file);
    if (rc != SQLITE_OK) return rc;
  }
  return file->real->pMethods->xRead(file->real, out, amount, offset);
}

static int buffered_write(sqlite3_file *handle, const void *data, int amount, sqlite3_int64 offset) {
  BufferedFile *file = (BufferedFile *)handle;
  if (!file->is_wal) return file->real->pMethods->xWrite(file->real, data, amount, offset);
  atomic_fetch_add(&requested_writes, 1);
  if (!file->buffer && !(file->buffer = sqlite3_malloc(BUFFER_CAPACITY))) return SQLITE_IOERR_NOMEM;
  if (file->length > 0 && offset >= file->start && offset + amount <= file->start + file->length) {
    // A frame rewritten within the same transaction, still in the buffer.
    memcpy(file->buffer + (offset - file->start), data, amount);
    return SQLITE_OK;
  }
  if (file->length > 0 && offset == file->start + file->length && file->length + amount <= BUFFER_CAPACITY) {
    memcpy(file->buffer + file->length, data, amount);
    file->length += amount;
    return SQLITE_OK;
  }
  int rc = flush(file);
  if (rc != SQLITE_OK) return rc;
  if (amount > WRITE_PIECE) {
    atomic_fetch_add(&written_writes, 1);
    return file->real->pMethods->xWrite(file->real, data, amount, offset);
  }
  memcpy(file->buffer, data, amount);
  file->start = offset;
  file->length = amount;
  return SQLITE_OK;
}

static int buffered_truncate(sqlite3_file *handle, sqlite3_int64 size) {
  BufferedFile *file = (BufferedFile *)handle;
  int rc = flush(file);
  return rc != SQLITE_OK ? rc : file->real->pMethods->xTruncate(file->real, size);
}

static int buffered_sync(sqlite3_file *handle, int flags) {
  BufferedFile *file = (BufferedFile *)handle;
  int rc = flush(file);
  return rc != SQLITE_OK ? rc : file->real->pMethods->xSync(file->real, flags);
}

static int buffered_file_size(sqlite3_file *handle, sqlite3_int64 *size) {
  BufferedFile *file = (BufferedFile *)handle;
  int rc = flush(file);
  return rc != SQLITE_OK ? rc : file->real->pMethods->xFileSize(file->real, size);
}

#define REAL(file) (((BufferedFile *)(file))->real)

static int buffered_lock(sqlite3_file *f, int level) { return REAL(f)->pMethods->xLock(REAL(f), level); }
static int buffered_unlock(sqlite3_file *f, int level) { return REAL(f)->pMethods->xUnlock(REAL(f), level); }
static int buffered_check_reserved_lock(sqlite3_file *f, int *out) {
  return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}
static int buffered_file_control(sqlite3_file *f, int op, void *arg) {
  return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}
static int buffered_sector_size(sqlite3_file *f) { return REAL(f)->pMethods->xSectorSize(REAL(f)); }
static int buffered_device_characteristics(sqlite3_file *f) {
  return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}
static int buffered_shm_map(sqlite3_file *f, int region, int size, int extend, void volatile **out) {
  return REAL(f)->pMethods->xShmMap(REAL(f), region, size, extend, out);
}
static int buffered_shm_lock(sqlite3_file *f, int offset, int n, int flags) {
  return REAL(f)->pMethods->xShmLock(REAL(f), offset, n, flags);
}
static void buffered_shm_barrier(sqlite3_file *f) {
  // SQLite calls this between writing the two copies of a new wal-index header. A flush
  // error here has no way out; it cannot happen under synchronous=FULL, where the sync
  // before every commit has already flushed and reported.
  BufferedFile *file = (BufferedFile *)f;
  if (file->wal) flush(file->wal);
  REAL(f)->pMethods->xShmBarrier(REAL(f));
}
static int buffered_shm_unmap(sqlite3_file *f, int delete_flag) {
  return REAL(f)->pMethods->xShmUnmap(REAL(f), delete_flag);
}
static int buffered_fetch(sqlite3_file *f, sqlite3_int64 offset, int amount, void **out) {
  return REAL(f)->pMethods->xFetch(REAL(f), offset, amount, out);
}
static int buffered_unfetch(sqlite3_file *f, sqlite3_int64 offset, void *page) {
  return REAL(f)->pMethods->xUnfetch(REAL(f), offset, page);
}

static int buffered_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *handle, int flags, int *out_flags) {
  (void)vfs;
  BufferedFile *file = (BufferedFile *)handle;
  memset(file, 0, sizeof(BufferedFile));
  file->real = (sqlite3_file *)&file[1];
  int rc = real_vfs->xOpen(real_vfs, name, file->real, flags, out_flags);
  if (file->real->pMethods == NULL) return rc;
  if (file->real->pMethods->iVersion < 3) {
    // Every method here forwards to a version-3 file (the default on Unix).
    file->real->pMethods->xClose(file->real);
    return SQLITE_CANTOPEN;
  }
  if (rc == SQLITE_OK && (flags & SQLITE_OPEN_WAL) && name) {
    file->is_wal = 1;
    file->db = (BufferedFile *)sqlite3_database_file_object(name);
    if (file->db) file->db->wal = file;
  }
  file->base.pMethods = &buffered_methods;
  return rc;
}

static int vfs_delete(sqlite3_vfs *v, const char *name, int sync_dir) {
  (void)v;
  return real_vfs->xDelete(real_vfs, name, sync_dir);
}
static int vfs_access(sqlite3_vfs *v, const char *name, int flags, int *out) {
  (void)v;
  return real_vfs->xAccess(real_vfs, name, flags, out);
}
static int vfs_full_pathname(sqlite3_vfs *v, const char *name, int size, char *out) {
  (void)v;
  return real_vfs->xFullPathname(real_vfs, name, size, out);
}
static void *vfs_dl_open(sqlite3_vfs *v, const char *name) {
  (void)v;
  return real_vfs->xDlOpen(real_vfs, name);
}
static void vfs_dl_error(sqlite3_vfs *v, int size, char *out) {
  (void)v;
  real_vfs->xDlError(real_vfs, size, out);
}
static void (*vfs_dl_sym(sqlite3_vfs *v, void *library, const char *symbol))(void) {
  (void)v;
  return real_vfs->xDlSym(real_vfs, library, symbol);
}
static void vfs_dl_close(sqlite3_vfs *v, void *library) {
  (void)v;
  real_vfs->xDlClose(real_vfs, library);
}
static int vfs_randomness(sqlite3_vfs *v, int size, char *out) {
  (void)v;
  return real_vfs->xRandomness(real_vfs, size, out);
}
static int vfs_sleep(sqlite3_vfs *v, int microseconds) {
  (void)v;
  return real_vfs->xSleep(real_vfs, microseconds);
}
static int vfs_current_time(sqlite3_vfs *v, double *out) {
  (void)v;
  return real_vfs->xCurrentTime(real_vfs, out);
}
static int vfs_get_last_error(sqlite3_vfs *v, int size, char *out) {
  (void)v;
  return real_vfs->xGetLastError ? real_vfs->xGetLastError(real_vfs, size, out) : 0;
}
static int vfs_current_time_int64(sqlite3_vfs *v, sqlite3_int64 *out) {
  (void)v;
  return real_vfs->xCurrentTimeInt64(real_vfs, out);
}

static void register_once(void) {
  real_vfs = sqlite3_vfs_find(NULL);
  if (!real_vfs || real_vfs->iVersion < 2) {
    registration_result = SQLITE_ERROR;
    return;
  }
  buffered_methods = (sqlite3_io_methods){
      .iVersion = 3,
      .xClose = buffered_close,
      .xRead = buffered_read,
      .xWrite = buffered_write,
      .xTruncate = buffered_truncate,
      .xSync = buffered_sync,
      .xFileSize = buffered_file_size,
      .xLock = buffered_lock,
      .xUnlock = buffered_unlock,
      .xCheckReservedLock = buffered_check_reserved_lock,
      .xFileControl = buffered_file_control,
      .xSectorSize = buffered_sector_size,
      .xDeviceCharacteristics = buffered_device_characteristics,
      .xShmMap = buffered_shm_map,
      .xShmLock = buffered_shm_lock,
      .xShmBarrier = buffered_shm_barrier,
      .xShmUnmap = buffered_shm_unmap,
      .xFetch = buffered_fetch,
      .xUnfetch = buffered_unfetch,
  };
  buffered_vfs = (sqlite3_vfs){
      .iVersion = 2,
      .szOsFile = (int)sizeof(BufferedFile) + real_vfs->szOsFile,
      .mxPathname = real_vfs->mxPathname,
      .zName = "replyline-wal-buffer",
      .xOpen = buffered_open,
      .xDelete = vfs_delete,
      .xAccess = vfs_access,
      .xFullPathname = vfs_full_pathname,
      .xDlOpen = vfs_dl_open,
      .xDlError = vfs_dl_error,
      .xDlSym = vfs_dl_sym,
      .xDlClose = vfs_dl_close,
      .xRandomness = vfs_randomness,
      .xSleep = vfs_sleep,
      .xCurrentTime = vfs_current_time,
      .xGetLastError = vfs_get_last_error,
      .xCurrentTimeInt64 = vfs_current_time_int64,
  };
  registration_result = sqlite3_vfs_register(&buffered_vfs, 1);
}

int replyline_wal_buffer_register(void) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, register_once);
  return registration_result;
}

void replyline_wal_buffer_counts(long long *requested, long long *written) {
  *requested = atomic_load(&requested_writes);
  *written = atomic_load(&written_writes);
}
