import CTestSupport
@testable import FastPathKernel
import Glibc

/// XDP program return codes (`enum xdp_action`).
public enum XDPAction: UInt32 {
    case aborted = 0, drop = 1, pass = 2, tx = 3, redirect = 4
}

/// TC program return codes used by fastpath (`TC_ACT_*`).
public enum TCAction: UInt32 {
    case ok = 0, reclassify = 1, shot = 2, pipe = 3, stolen = 4, queued = 5, `repeat` = 6, redirect = 7
    case unspec = 0xffff_ffff
}

/// What one `BPF_PROG_TEST_RUN` returned.
public struct BPFTestRunResult {
    /// The program's return code (see `XDPAction`, `TCAction`).
    public var returnValue: UInt32
    /// The packet after the program ran, from the Ethernet header on.
    public var frame: [UInt8]
    /// XDP only: metadata the program left in front of the frame
    /// (`bpf_xdp_adjust_meta`), e.g. a `struct fp_meta`; empty for TC.
    public var metadata: [UInt8]
    /// Average run time per repetition, in nanoseconds.
    public var durationNanoseconds: UInt32
}

extension BPFProgram {
    /// Runs this XDP program on `frame` in the kernel (BPF_PROG_TEST_RUN),
    /// as if it had arrived on `ingressIfindex`.
    ///
    /// The context is an `xdp_md` with `data = metadata.count` (metadata
    /// placed in front of the frame, a multiple of 4) and `data_end` = total
    /// input length, as `bpf_prog_test_run_xdp` requires. `ingressIfindex` is
    /// looked up in the calling thread's network namespace (ENODEV if absent)
    /// and the run is bound to its rx queue 0, so `bpf_fib_lookup` and
    /// `bpf_redirect_map` see that device; 0 means the loopback device.
    ///
    /// The kernel copies back metadata + frame (`data_meta`..`data_end`) and
    /// reports the metadata length in the output context; they are returned
    /// separately. With `repeat` > 1 the kernel reuses one buffer, so head and
    /// metadata adjustments accumulate across repetitions: use `repeat` for
    /// timing, and 1 to check the output.
    public func testRunXDP(
        frame: [UInt8], metadata: [UInt8] = [], ingressIfindex: UInt32, repeat: UInt32 = 1
    ) throws(FastPathError) -> BPFTestRunResult {
        let input = metadata + frame
        var output = [UInt8](repeating: 0, count: input.count + 256)
        var outLength: UInt32 = 0, metaLength: UInt32 = 0, retval: UInt32 = 0, duration: UInt32 = 0
        let capacity = UInt32(output.count)
        let rc = input.withUnsafeBytes { inBytes in
            output.withUnsafeMutableBytes { outBytes in
                fp_test_run_xdp(descriptor.rawValue, inBytes.baseAddress, UInt32(inBytes.count), UInt32(metadata.count),
                                ingressIfindex, `repeat`, outBytes.baseAddress, capacity,
                                &outLength, &metaLength, &retval, &duration)
            }
        }
        if rc < 0 {
            throw FastPathError("BPF_PROG_TEST_RUN of XDP program \(name)", code: .errno(-rc),
                                subject: "ifindex \(ingressIfindex)",
                                hint: rc == -EINVAL ? "frame shorter than 14 bytes or metadata not a multiple of 4"
                                    : rc == -ENODEV ? "the ifindex is not a device in this network namespace" : nil)
        }
        let total = min(Int(outLength), output.count)
        let meta = min(Int(metaLength), total)
        return BPFTestRunResult(returnValue: retval, frame: Array(output[meta..<total]),
                                metadata: Array(output[0..<meta]), durationNanoseconds: duration)
    }

    /// Runs this TC (`sched_cls`) program on `frame` as an skb received on
    /// `ingressIfindex` (and, for an egress program, leaving on `deviceIfindex`).
    ///
    /// The `__sk_buff` context sets `ifindex` (the kernel looks the device up
    /// in the current namespace and makes it `skb->dev`, so helpers such as
    /// `bpf_fib_lookup` use it; 0 or 1 means loopback) to `deviceIfindex`,
    /// by default `ingressIfindex`, and `ingress_ifindex` (`skb->skb_iif`) to
    /// `ingressIfindex`. The output is the frame from the Ethernet header on.
    public func testRunSKB(
        frame: [UInt8], ingressIfindex: UInt32, deviceIfindex: UInt32? = nil, repeat: UInt32 = 1
    ) throws(FastPathError) -> BPFTestRunResult {
        var output = [UInt8](repeating: 0, count: frame.count + 256)
        var outLength: UInt32 = 0, retval: UInt32 = 0, duration: UInt32 = 0
        let capacity = UInt32(output.count)
        let rc = frame.withUnsafeBytes { inBytes in
            output.withUnsafeMutableBytes { outBytes in
                fp_test_run_skb(descriptor.rawValue, inBytes.baseAddress, UInt32(inBytes.count), deviceIfindex ?? ingressIfindex, ingressIfindex,
                                `repeat`, outBytes.baseAddress, capacity, &outLength, &retval, &duration)
            }
        }
        if rc < 0 {
            throw FastPathError("BPF_PROG_TEST_RUN of TC program \(name)", code: .errno(-rc),
                                subject: "ifindex \(ingressIfindex)",
                                hint: rc == -ENODEV ? "the ifindex is not a device in this network namespace" : nil)
        }
        let total = min(Int(outLength), output.count)
        return BPFTestRunResult(returnValue: retval, frame: Array(output[0..<total]), metadata: [],
                                durationNanoseconds: duration)
    }
}
