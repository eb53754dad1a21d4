/* A QEMU TCG plugin for the emulated boards (emu/qemu.ts builds and loads it):
 * counts guest instructions and, by option,
 *   mark=ADDR      prints "mark ADDR COUNT" each time the instruction at ADDR runs
 *                  (several marks allowed; e.g. jswrap_io_peek: peek8() called from JS)
 *   args=ADDR      the same, with r0..r3 (a function's first four arguments), e.g. disk_write
 *   stop=N         ends QEMU at once when N instructions have run: a power cut (the card
 *                  and flash files keep exactly the writes that completed before it)
 *   profile=1      instructions per translated block, printed ("pc ADDR COUNT") and reset
 *                  at each mark or args event and at the end, for a flat profile by function
 * Output goes to QEMU's log (-d plugin -D FILE). Counts are per instruction executed, as
 * the toolkit's icount_marker plugin counts them. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <qemu-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

#define MAX_MARKS 16
static struct qemu_plugin_scoreboard *sb;
static qemu_plugin_u64 count;
static uint64_t marks[MAX_MARKS], argsAt[MAX_MARKS], stopAt;
static int nMarks, nArgs, profile;
static struct qemu_plugin_register *reg[4];

/* profile: one record per translated block (a block translated again gets another; the host adds them up) */
struct block { uint64_t pc, n, hits; struct block *next; };
static struct block *blocks;

static uint64_t now(void) { return qemu_plugin_u64_sum(count); }

static void dump(void) {
  char line[64];
  for (struct block *b = blocks; b; b = b->next)
    if (b->hits) {
      snprintf(line, sizeof line, "pc %" PRIx64 " %" PRIu64 "\n", b->pc, b->hits * b->n);
      qemu_plugin_outs(line);
      b->hits = 0;
    }
}
static void on_mark(unsigned int vcpu, void *pc) {
  char line[96];
  snprintf(line, sizeof line, "mark %" PRIx64 " %" PRIu64 "\n", (uint64_t)(uintptr_t)pc, now());
  qemu_plugin_outs(line);
  if (profile) dump();
}
static GByteArray *buf;
static uint32_t r32(int i) {
  uint32_t v = 0;
  g_byte_array_set_size(buf, 0);
  if (reg[i] && qemu_plugin_read_register(reg[i], buf) >= 4) memcpy(&v, buf->data, 4);
  return v;
}
static void on_args(unsigned int vcpu, void *pc) {
  char line[128];
  snprintf(line, sizeof line, "args %" PRIx64 " %" PRIu64 " %" PRIu32 " %" PRIu32 " %" PRIu32 " %" PRIu32 "\n",
           (uint64_t)(uintptr_t)pc, now(), r32(0), r32(1), r32(2), r32(3));
  qemu_plugin_outs(line);
  if (profile) dump();
}
static void on_stop(unsigned int vcpu, void *ud) {
  fprintf(stderr, "[probe] stop %" PRIu64 "\n", now());
  fflush(stderr);
  _exit(0);
}
static void on_block(unsigned int vcpu, void *b) { ((struct block *)b)->hits++; }

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
  size_t n = qemu_plugin_tb_n_insns(tb);
  if (stopAt)
    qemu_plugin_register_vcpu_tb_exec_cond_cb(tb, on_stop, QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_COND_GE, count, stopAt, NULL);
  if (profile) {
    struct block *b = calloc(1, sizeof *b);
    b->pc = qemu_plugin_tb_vaddr(tb);
    b->n = n;
    b->next = blocks;
    blocks = b;
    qemu_plugin_register_vcpu_tb_exec_cb(tb, on_block, QEMU_PLUGIN_CB_NO_REGS, b);
  }
  for (size_t i = 0; i < n; i++) {
    struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
    uint64_t pc = qemu_plugin_insn_vaddr(insn) & ~1ULL;
    qemu_plugin_register_vcpu_insn_exec_inline_per_vcpu(insn, QEMU_PLUGIN_INLINE_ADD_U64, count, 1);
    for (int k = 0; k < nMarks; k++)
      if (pc == marks[k]) qemu_plugin_register_vcpu_insn_exec_cb(insn, on_mark, QEMU_PLUGIN_CB_NO_REGS, (void *)(uintptr_t)pc);
    for (int k = 0; k < nArgs; k++)
      if (pc == argsAt[k]) qemu_plugin_register_vcpu_insn_exec_cb(insn, on_args, QEMU_PLUGIN_CB_R_REGS, (void *)(uintptr_t)pc);
  }
}
static void on_vcpu_init(qemu_plugin_id_t id, unsigned int vcpu) {
  GArray *regs = qemu_plugin_get_registers();
  qemu_plugin_reg_descriptor *d = (qemu_plugin_reg_descriptor *)regs->data;
  for (unsigned i = 0; i < regs->len; i++)
    for (int k = 0; k < 4; k++) {
      char name[4] = {'r', (char)('0' + k), 0};
      if (!strcmp(d[i].name, name)) reg[k] = d[i].handle;
    }
  g_array_free(regs, 1);
  buf = g_byte_array_new();
}
static void at_end(qemu_plugin_id_t id, void *p) {
  char line[64];
  if (profile) {
    qemu_plugin_outs("end\n"); /* the profile after the last mark follows */
    dump();
  }
  snprintf(line, sizeof line, "total %" PRIu64 "\n", now());
  qemu_plugin_outs(line);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv) {
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (!strncmp(a, "mark=", 5) && nMarks < MAX_MARKS) marks[nMarks++] = strtoull(a + 5, NULL, 0) & ~1ULL;
    else if (!strncmp(a, "args=", 5) && nArgs < MAX_MARKS) argsAt[nArgs++] = strtoull(a + 5, NULL, 0) & ~1ULL;
    else if (!strncmp(a, "stop=", 5)) stopAt = strtoull(a + 5, NULL, 0);
    else if (!strncmp(a, "profile=", 8)) profile = atoi(a + 8);
    else {
      fprintf(stderr, "probe: unknown option %s\n", a);
      return -1;
    }
  }
  sb = qemu_plugin_scoreboard_new(sizeof(uint64_t));
  count = qemu_plugin_scoreboard_u64(sb);
  qemu_plugin_register_vcpu_init_cb(id, on_vcpu_init);
  qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
  qemu_plugin_register_atexit_cb(id, at_end, NULL);
  return 0;
}
