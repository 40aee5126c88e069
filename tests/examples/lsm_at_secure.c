// SPDX-License-Identifier: Apache-2.0
// What lsm_hooks_compare_test's exec children run: exits with
// getauxval(AT_SECURE), the secureexec bit of the exec that started it
// (fs/binfmt_elf.c create_elf_tables; bpf_bprm_opts_set sets it).
#include <sys/auxv.h>

int main(void) { return getauxval(AT_SECURE) != 0 ? 1 : 0; }
