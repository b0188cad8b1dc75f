/* CLibBPF - libbpf as a Swift module (system library target). */
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
