# ---- make install DESTDIR=DIR: the router's files -----------------------------
# As the OpenWrt package lays them out (openwrt/fastpath/Makefile); add
# ARCH=/CROSS_COMPILE= for a target.
DESTDIR ?=
.PHONY: install
install: $(OUT)/fastpath.stripped $(BPF_OBJ)
	install -d $(DESTDIR)/usr/sbin $(DESTDIR)/usr/lib/fastpath $(DESTDIR)/etc/config $(DESTDIR)/etc/init.d \
		$(DESTDIR)/usr/libexec/rpcd $(DESTDIR)/usr/share/rpcd/acl.d
	install -m 0755 $(OUT)/fastpath.stripped $(DESTDIR)/usr/sbin/fastpath
	install -m 0644 $(BPF_OBJ) $(DESTDIR)/usr/lib/fastpath/fastpath.o
	install -m 0600 files/etc/config/fastpath $(DESTDIR)/etc/config/fastpath
	install -m 0755 files/etc/init.d/fastpath $(DESTDIR)/etc/init.d/fastpath
	install -m 0755 files/usr/libexec/rpcd/fastpath $(DESTDIR)/usr/libexec/rpcd/fastpath
	install -m 0644 files/usr/share/rpcd/acl.d/fastpath.json $(DESTDIR)/usr/share/rpcd/acl.d/fastpath.json
