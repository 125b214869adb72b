// SQLite's own page cache (pcache1), with one page number kept out of it.
//
// When SQLite rebalances a b-tree it puts the new sibling pages in page-number order by
// swapping them, and parks one page under a temporary number on the way: the page of the
// lock byte, 1 GiB into the file (page 262,145 at 4 KiB), which never holds data. pcache1
// remembers the largest number it has ever held (`iMaxKey`) and lowers it only when the
// cache is truncated, and every commit truncates the cache to the database's size. With
// the largest number far past that size, the truncation walks every page in the cache
// instead of the few past the end. Under load nearly every commit of the writer follows
// such a swap (an index split somewhere), so each commit walked all of its cached pages:
// about a tenth of the writer's time with 8,000 of them, and it grows with the cache.
//
// Here the temporary number is stored as 0, a number SQLite never asks for (it refuses
// page 0 before consulting the cache), so it never becomes the largest. Everything else
// goes straight to pcache1. Written by hand because SQLite has no option for it and the
// page cache is only replaceable as a whole, through SQLITE_CONFIG_PCACHE2.
#include "page_cache.h"

#include <sqlite3.h>
#include <stdatomic.h>

// sqlite3PendingByte: the lock byte's offset, unchanged outside SQLite's own test builds.
enum { LOCK_BYTE_OFFSET = 0x40000000 };

typedef struct {
  sqlite3_pcache *base;
  unsigned swap_key;  // the lock byte's page: where SQLite parks a page during a swap
} Cache;

static sqlite3_pcache_methods2 base;
static int installed;
static atomic_llong swaps;

static unsigned stored_key(Cache *cache, unsigned key) {
  if (key != cache->swap_key) return key;
  atomic_fetch_add_explicit(&swaps, 1, memory_order_relaxed);
  return 0;
}

static int cache_init(void *arg) {
  (void)arg;
  return base.xInit(base.pArg);
}

static void cache_shutdown(void *arg) {
  (void)arg;
  base.xShutdown(base.pArg);
}

static sqlite3_pcache *cache_create(int page_size, int extra_size, int purgeable) {
  Cache *cache = sqlite3_malloc(sizeof *cache);
  if (!cache) return NULL;
  cache->base = base.xCreate(page_size, extra_size, purgeable);
  if (!cache->base) {
    sqlite3_free(cache);
    return NULL;
  }
  cache->swap_key = LOCK_BYTE_OFFSET / (unsigned)page_size + 1;
  return (sqlite3_pcache *)cache;
}

static void cache_size(sqlite3_pcache *handle, int pages) {
  base.xCachesize(((Cache *)handle)->base, pages);
}

static int cache_page_count(sqlite3_pcache *handle) {
  return base.xPagecount(((Cache *)handle)->base);
}

static sqlite3_pcache_page *cache_fetch(sqlite3_pcache *handle, unsigned key, int create) {
  Cache *cache = (Cache *)handle;
  return base.xFetch(cache->base, stored_key(cache, key), create);
}

static void cache_unpin(sqlite3_pcache *handle, sqlite3_pcache_page *page, int discard) {
  base.xUnpin(((Cache *)handle)->base, page, discard);
}

static void cache_rekey(sqlite3_pcache *handle, sqlite3_pcache_page *page, unsigned old_key, unsigned new_key) {
  Cache *cache = (Cache *)handle;
  base.xRekey(cache->base, page, stored_key(cache, old_key), stored_key(cache, new_key));
}

static void cache_truncate(sqlite3_pcache *handle, unsigned limit) {
  base.xTruncate(((Cache *)handle)->base, limit);
}

static void cache_destroy(sqlite3_pcache *handle) {
  Cache *cache = (Cache *)handle;
  base.xDestroy(cache->base);
  sqlite3_free(cache);
}

static void cache_shrink(sqlite3_pcache *handle) {
  base.xShrink(((Cache *)handle)->base);
}

// Before main: SQLite takes a page cache only before its first use in the process, and
// this way no test or command can get there first. Should SQLite refuse anyway, its own
// cache stays in place: correct, only slower.
__attribute__((constructor)) static void install(void) {
  if (sqlite3_config(SQLITE_CONFIG_GETPCACHE2, &base) != SQLITE_OK || base.iVersion < 1) return;
  static const sqlite3_pcache_methods2 wrapper = {
      .iVersion = 1,
      .xInit = cache_init,
      .xShutdown = cache_shutdown,
      .xCreate = cache_create,
      .xCachesize = cache_size,
      .xPagecount = cache_page_count,
      .xFetch = cache_fetch,
      .xUnpin = cache_unpin,
      .xRekey = cache_rekey,
      .xTruncate = cache_truncate,
      .xDestroy = cache_destroy,
      .xShrink = cache_shrink,
  };
  installed = sqlite3_config(SQLITE_CONFIG_PCACHE2, &wrapper) == SQLITE_OK;
}

int replyline_page_cache_installed(void) { return installed; }

long long replyline_page_cache_swaps(void) { return atomic_load_explicit(&swaps, memory_order_relaxed); }
