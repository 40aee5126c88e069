// SPDX-License-Identifier: GPL-2.0
// A LIRC_MODE2 decoder (bpf_rc_keydown, bpf_rc_repeat,
// bpf_rc_pointer_rel) for a NEC-like remote with a pointer: a 9 ms pulse
// and 4.5 ms space start a frame of 16 bits (a 560 us pulse, then a space
// above 1 ms for a one), the low 15 the scancode and the top one the
// toggle; a 9 ms pulse and 2.25 ms space repeat the last key; a 3 ms pulse
// moves the pointer by (space / 100 - 20, 20 - space / 100). No kernel
// bpfemu is compared with has a raw IR receiver: run on bpfemu's model
// (native/lirc_mode2.h) by lirc_model_test.cc.
#include <linux/bpf.h>
#include <linux/lirc.h>

#include <bpf/bpf_helpers.h>

#define RC_PROTO_NEC 9

struct decoder {
  __u32 pulse;
  __u32 bits;
  __u32 count;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct decoder);
} state SEC(".maps");

SEC("lirc_mode2")
int decode(unsigned int *sample) {
  __u32 zero = 0;
  struct decoder *d = bpf_map_lookup_elem(&state, &zero);
  if (!d) return 0;
  unsigned int v = *sample;
  unsigned int type = v & LIRC_MODE2_MASK, dur = v & LIRC_VALUE_MASK;
  if (type == LIRC_MODE2_PULSE) {
    d->pulse = dur;
    return 0;
  }
  if (type != LIRC_MODE2_SPACE) return 0;
  if (d->pulse > 8000) {
    if (dur > 4000) {
      d->bits = 0;
      d->count = 0;
    } else if (dur > 2000) {
      bpf_rc_repeat(sample);
    }
    return 0;
  }
  if (d->pulse > 2000) {
    int step = (int)(dur / 100);
    bpf_rc_pointer_rel(sample, step - 20, 20 - step);
    return 0;
  }
  d->bits = d->bits << 1 | (dur > 1000);
  if (++d->count == 16) {
    bpf_rc_keydown(sample, RC_PROTO_NEC, d->bits & 0x7fff, d->bits >> 15);
    d->count = 0;
  }
  return 0;
}

char _license[] SEC("license") = "GPL";
