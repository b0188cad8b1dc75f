# ---- make demo: forward real traffic in the namespace lab ----------------------
# Installs what's missing (mk/deps.mk), builds, then Tests/lab/demo.sh.
.PHONY: demo run-demo
demo: deps
	@$(MAKE) --no-print-directory run-demo

run-demo: all bpffs
	sh Tests/lab/demo.sh
