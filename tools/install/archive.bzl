# SPDX-License-Identifier: Apache-2.0
"""merged_archive(): one static archive holding every library a set of
cc_library targets links, for installing outside Bazel (tools/install.sh)."""

def _merged_archive_impl(ctx):
    archives = []
    seen = {}
    for dep in ctx.attr.deps:
        for li in dep[CcInfo].linking_context.linker_inputs.to_list():
            for lib in li.libraries:
                # Position-independent where the build made it, so the archive
                # links into PIE executables and shared objects alike.
                a = lib.pic_static_library or lib.static_library
                if a and a.path not in seen:
                    seen[a.path] = True
                    archives.append(a)
    out = ctx.actions.declare_file(ctx.attr.out)
    script = ctx.actions.declare_file(ctx.attr.out + ".mri")
    lines = ["CREATE " + out.path]
    lines += ["ADDLIB " + a.path for a in archives]
    lines += ["SAVE", "END", ""]
    ctx.actions.write(script, "\n".join(lines))
    ctx.actions.run_shell(
        inputs = archives + [script],
        outputs = [out],
        command = "ar -M < " + script.path,
        mnemonic = "MergeArchives",
    )
    return [DefaultInfo(files = depset([out]))]

merged_archive = rule(
    implementation = _merged_archive_impl,
    attrs = {
        "deps": attr.label_list(providers = [CcInfo]),
        "out": attr.string(mandatory = True),
    },
)
