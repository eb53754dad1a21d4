/*
 * The test harness: an ARM Linux program (run under qemu-arm) that maps the
 * blob executable and calls its kernels as E.nativeCall does on a board: the
 * entry offset with the Thumb bit set, AAPCS, up to 5 int arguments.
 * The blob is mapped wherever the kernel puts it (it is position-independent).
 * Memory the kernels read and write is an arena; the caller (sim/native.ts)
 * gives its typed arrays addresses in a window at ARENA_AT, as E.getAddressOf
 * does on a board, and copies them in and out around a call; arguments and
 * regions in that window are moved onto the arena's real place.
 *
 *   harness BLOB IN OUT      requests from the file/FIFO IN, replies to OUT
 *
 * Request, little-endian 32-bit words: offset, nargs, args[5], nregions, then
 * for each region addr, len and len bytes (padded to 4). offset 0xffffffff
 * ends the program. Reply: the return value (r0), then each region's bytes again.
 * Before the first request the harness writes the blob's and the arena's addresses.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define ARENA_AT 0x40000000u
#define ARENA_SIZE (8u << 20)

typedef uint32_t (*kernel)(uint32_t, uint32_t, uint32_t, uint32_t, uint32_t);

static FILE *in, *out;
static void rd(void *p, size_t n) {
  if (fread(p, 1, n, in) != n) exit(0);
}
static uint32_t word(void) {
  uint32_t w;
  rd(&w, 4);
  return w;
}
static void fail(const char *why) {
  fprintf(stderr, "harness: %s\n", why);
  exit(2);
}

int main(int argc, char **argv) {
  if (argc != 4) fail("usage: harness BLOB IN OUT");
  FILE *f = fopen(argv[1], "rb");
  if (!f) fail("cannot open the blob");
  uint8_t *blob = mmap(0, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  uint8_t *arena = mmap(0, ARENA_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (blob == MAP_FAILED || arena == MAP_FAILED) fail("mmap failed");
  uint32_t delta = (uint32_t)(uintptr_t)arena - ARENA_AT;
  size_t size = fread(blob, 1, 65536, f);
  fclose(f);
  /* executable and no longer writable, as code kept in flash */
  if (mprotect(blob, 65536, PROT_READ | PROT_EXEC)) fail("mprotect");
  in = fopen(argv[2], "rb");
  out = fopen(argv[3], "wb");
  if (!in || !out) fail("cannot open the pipes");
  uint32_t where[2] = {(uint32_t)(uintptr_t)blob, (uint32_t)(uintptr_t)arena};
  fwrite(where, 4, 2, out);
  fflush(out);
  for (;;) {
    uint32_t off = word(), nargs, a[5] = {0}, nreg, r;
    uint32_t addr[16], len[16];
    if (off == 0xffffffffu) return 0;
    if (off >= size) fail("entry offset outside the blob");
    nargs = word();
    for (int i = 0; i < 5; i++) {
      a[i] = word();
      if (a[i] - ARENA_AT < ARENA_SIZE) a[i] += delta;
    }
    if (nargs > 5) fail("more than 5 arguments");
    nreg = word();
    if (nreg > 16) fail("too many regions");
    for (uint32_t i = 0; i < nreg; i++) {
      addr[i] = word();
      len[i] = word();
      if (addr[i] < ARENA_AT || addr[i] + len[i] > ARENA_AT + ARENA_SIZE) fail("region outside the arena");
      addr[i] += delta;
      rd((void *)addr[i], (len[i] + 3) & ~3u);
    }
    kernel k = (kernel)(uintptr_t)(blob + off + 1); /* Thumb */
    r = k(a[0], a[1], a[2], a[3], a[4]);
    fwrite(&r, 4, 1, out);
    for (uint32_t i = 0; i < nreg; i++) fwrite((void *)addr[i], 1, (len[i] + 3) & ~3u, out);
    fflush(out);
  }
}
