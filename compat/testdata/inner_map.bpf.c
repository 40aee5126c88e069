// SPDX-License-Identifier: Apache-2.0
// A map-in-map with its inner template (`__array(values, ...)`), written
// out without bpf_helpers.h, for LibbpfInnerMap (compat/libbpf_extra_test.cc).
struct inner_def {
  int (*type)[2];  // BPF_MAP_TYPE_ARRAY
  int (*max_entries)[4];
  int *key;
  long *value;
};

struct {
  int (*type)[12];  // BPF_MAP_TYPE_ARRAY_OF_MAPS
  int (*max_entries)[2];
  int *key;
  struct inner_def *values[];
} outer __attribute__((section(".maps"), used));

struct {
  int (*type)[2];
  int (*max_entries)[1];
  int *key;
  int *value;
} plain __attribute__((section(".maps"), used));

__attribute__((section("socket"), used)) int prog(void *ctx) { return 0; }
char LICENSE[] __attribute__((section("license"), used)) = "GPL";
