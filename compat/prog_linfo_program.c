// SPDX-License-Identifier: Apache-2.0
// bpf_prog_linfo__* over hand-made struct bpf_prog_info values, for
// //compat:prog_linfo_diff_test: built against the system libbpf and
// against libbpfemu, both builds must print the same lines.
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

// Records with an extra trailing word, as a newer kernel might give.
struct wide_linfo {
  struct bpf_line_info l;
  __u32 extra;
};

static void show(const char *what, const struct bpf_line_info *l) {
  if (!l) {
    printf("%s: NULL errno %d\n", what, errno);
    return;
  }
  printf("%s: insn_off %u file %u line %u col %u\n", what, l->insn_off,
         l->file_name_off, l->line_off, l->line_col);
}

static void probe(const char *name, struct bpf_prog_info *info) {
  errno = 0;
  struct bpf_prog_linfo *p = bpf_prog_linfo__new(info);
  printf("== %s: new %s errno %d\n", name, p ? "ok" : "NULL", p ? 0 : errno);
  if (!p) return;
  char what[64];
  for (__u32 off = 0; off < 24; off += 3) {
    for (__u32 skip = 0; skip < 7; skip += 2) {
      snprintf(what, sizeof(what), "lfind(%u,%u)", off, skip);
      errno = 0;
      show(what, bpf_prog_linfo__lfind(p, off, skip));
    }
  }
  for (__u64 addr = 0x1000; addr < 0x1100; addr += 0x13) {
    for (__u32 f = 0; f < 3; f++) {
      for (__u32 skip = 0; skip < 3; skip++) {
        snprintf(what, sizeof(what), "addr(%#llx,%u,%u)",
                 (unsigned long long)addr, f, skip);
        errno = 0;
        show(what, bpf_prog_linfo__lfind_addr_func(p, addr, f, skip));
      }
    }
  }
  bpf_prog_linfo__free(p);
}

int main(void) {
  struct bpf_line_info lines[8];
  struct wide_linfo wide[8];
  __u64 jited[8] = {0x1000, 0x1008, 0x1010, 0x1040,
                    0x1048, 0x1050, 0x1080, 0x1090};
  __u64 ksyms[3] = {0x1000, 0x1040, 0x1080};
  __u32 lens[3] = {0x20, 0x30, 0x40};
  for (int i = 0; i < 8; i++) {
    lines[i] = (struct bpf_line_info){.insn_off = (__u32)(i * 3),
                                      .file_name_off = 100 + i,
                                      .line_off = 200 + i,
                                      .line_col = (__u32)((i + 1) << 10 | i)};
    wide[i].l = lines[i];
    wide[i].extra = 0xffffffff;
  }
  struct bpf_prog_info info;

  memset(&info, 0, sizeof(info));
  probe("no line info", &info);

  memset(&info, 0, sizeof(info));
  info.nr_line_info = 8;
  info.line_info_rec_size = 4;
  info.line_info = (uintptr_t)lines;
  probe("short records", &info);

  info.line_info_rec_size = sizeof(struct bpf_line_info);
  probe("xlated only", &info);

  info.line_info_rec_size = sizeof(struct wide_linfo);
  info.line_info = (uintptr_t)wide;
  probe("wide records", &info);

  info.line_info_rec_size = sizeof(struct bpf_line_info);
  info.line_info = (uintptr_t)lines;
  info.nr_jited_ksyms = 3;
  info.nr_jited_func_lens = 3;
  info.jited_ksyms = (uintptr_t)ksyms;
  info.jited_func_lens = (uintptr_t)lens;
  info.jited_line_info = (uintptr_t)jited;
  info.nr_jited_line_info = 8;
  info.jited_line_info_rec_size = sizeof(__u64);
  probe("jited, three functions", &info);

  info.nr_jited_line_info = 7;
  probe("jited count mismatch", &info);
  info.nr_jited_line_info = 8;

  info.jited_line_info_rec_size = 4;
  probe("jited records too small", &info);
  info.jited_line_info_rec_size = sizeof(__u64);

  lens[0] = 0x10;
  probe("function longer than its length", &info);
  lens[0] = 0x20;

  jited[2] = 0x1004;
  probe("addresses not increasing", &info);
  jited[2] = 0x1010;

  ksyms[0] = 0x0fff;
  probe("first symbol not first address", &info);
  ksyms[0] = 0x1000;

  ksyms[2] = 0x2000;
  probe("a symbol never reached", &info);
  ksyms[2] = 0x1080;

  info.nr_jited_ksyms = 1;
  info.nr_jited_func_lens = 1;
  lens[0] = 0x100;
  probe("jited, one function", &info);
  return 0;
}
