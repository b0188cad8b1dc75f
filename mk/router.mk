# ---- the router binary: Embedded Swift, build/$(ARCH)/fastpath -----------------
# Each Swift module is one swiftc -wmo invocation emitting its .swiftmodule and
# .o; the C shim is compiled by $(CC); the target's gcc links them against
# libbpf, libnl and the Embedded Swift stdlib.

# The module graph is read from the sources, so this file keeps no second copy
# of Package.swift's dependency lists: a module is a directory of Sources/ with
# Swift files, and its dependencies are the Swift modules its files import
# (`import X`, also `internal import X`, `@preconcurrency import X`): exactly
# the modules swiftc needs built before it. (Package.swift declares the same
# graph for SwiftPM, which needs it written out.) The binary is the module
# `fastpath` and every module it imports, directly or not, in dependency order
# (tsort).
SWIFT_MAIN    := fastpath
SWIFT_DIRS    := $(sort $(patsubst Sources/%/,%,$(dir $(wildcard Sources/*/*.swift))))
swift_imports  = $(filter-out $(1),$(filter $(SWIFT_DIRS),$(shell \
                   sed -n 's/^[@A-Za-z_ ]*import  *\([A-Za-z0-9_]*\).*/\1/p' Sources/$(1)/*.swift)))
$(foreach m,$(SWIFT_DIRS),$(eval $(m)_DEPS := $(sort $(call swift_imports,$(m)))))
swift_closure  = $(sort $(1) $(foreach m,$(1),$(call swift_closure,$($(m)_DEPS))))
SWIFT_MODULES := $(shell printf '%s %s\n' $(foreach m,$(call swift_closure,$(SWIFT_MAIN)),\
                   $(m) $(m) $(foreach d,$($(m)_DEPS),$(d) $(m))) | tsort)
ifeq ($(filter $(SWIFT_MAIN),$(SWIFT_MODULES)),)
$(error no Swift module $(SWIFT_MAIN) found in Sources/ (or no tsort))
endif

SHIM_SRCS     := $(wildcard Sources/CFastPathShim/*.c)
SHIM_OBJS     := $(patsubst Sources/CFastPathShim/%.c,$(OBJDIR)/shim_%.o,$(SHIM_SRCS))
SWIFT_OBJS    := $(foreach m,$(SWIFT_MODULES),$(OBJDIR)/$(m).o)
C_MODULE_FILES := $(wildcard Sources/CFastPathShim/include/*) Sources/CLibBPF/module.modulemap \
                  Sources/CLibBPF/shim.h Sources/CNetlink/module.modulemap Sources/CNetlink/shim.h \
                  $(BPF_SRC_DIR)/fastpath.h

$(OBJDIR)/shim_%.o: Sources/CFastPathShim/%.c $(C_MODULE_FILES)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -I Sources/CFastPathShim/include -c $< -o $@

define swift_module
$(OBJDIR)/$(1).o $(MODDIR)/$(1).swiftmodule &: $(wildcard Sources/$(1)/*.swift) $(foreach d,$($(1)_DEPS),$(MODDIR)/$(d).swiftmodule) $(C_MODULE_FILES)
	@mkdir -p $(OBJDIR) $(MODDIR)
	$$(SWIFTC) $$(SWIFTFLAGS) -module-name $(1) -emit-module -emit-module-path $(MODDIR)/$(1).swiftmodule \
		-c $(wildcard Sources/$(1)/*.swift) -o $(OBJDIR)/$(1).o
endef
$(foreach m,$(SWIFT_MODULES),$(eval $(call swift_module,$(m))))

# SwiftPM links executables with --defsym main=<module>_main; so does this.
$(OUT)/fastpath: $(SWIFT_OBJS) $(SHIM_OBJS)
	$(CC) $(LDFLAGS) -o $@ $(SWIFT_OBJS) $(SHIM_OBJS) -Wl,--defsym,main=$(SWIFT_MAIN)_main \
		$(LIB_LDLIBS) $(EMBEDDED_LIBDIR)/libswiftUnicodeDataTables.a -lm $(ARCH_LDFLAGS)

$(OUT)/fastpath.stripped: $(OUT)/fastpath
	$(STRIP) -o $@ $<

.PHONY: size swift-build
size: $(OUT)/fastpath.stripped
	@ls -l $< | awk '{print "size of $<: " $$5 " bytes"}'

# the host SwiftPM build (development, tests): Package.swift
swift-build:
	$(SWIFT) build
