// SPDX-License-Identifier: Apache-2.0
// The native face of kernel/cgroup/rstat.c css_rstat_updated (kfn50): the
// work is emu/rstat_kfuncs.h's; a css that is no cgroup handle or a CPU
// that is not possible stops the run as a fault does.

#include "emu/rstat_kfuncs.h"
#include "emu/prog.h"

extern "C" {

struct cgroup_subsys_state;

void css_rstat_updated(struct cgroup_subsys_state* css, int cpu) {
  if (bpfemu::rstatk::CssRstatUpdated(css, cpu) != 0) bpfemu::ProgAbortRun();
}

}  // extern "C"
