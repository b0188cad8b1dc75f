import FastPathCore
import FastPathKernel

/// Gateways whose neighbour is unresolved are probed (ARP/ND), so the fast
/// path rarely meets NO_NEIGH.
extension Daemon {
    /// Asks the kernel to resolve a gateway's neighbour (ARP/ND) now.
    func probe(_ gateway: NextHopTracker.Gateway) {
        guard let prober else { return }
        ignoringErrors { () throws(FastPathError) in try prober.probe(ifindex: gateway.ifindex, address: gateway.address) }
        scheduleProbeRetry()
    }

    func scheduleProbeRetry() {
        if probeDue == nil {
            probeDue = MonotonicClock.milliseconds + Daemon.probeRetryMilliseconds
            armTimer()
        }
    }

    /// Timer: probe what is still unresolved; stay asleep once all are.
    func probeUnresolvedGateways() {
        let pending = nextHops.unresolved
        guard let prober, !pending.isEmpty else { return }
        for gateway in pending {
            ignoringErrors { () throws(FastPathError) in try prober.probe(ifindex: gateway.ifindex, address: gateway.address) }
        }
        probeDue = MonotonicClock.milliseconds + Daemon.probeRetryMilliseconds
    }
}
