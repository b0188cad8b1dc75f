import FastPathCore
import FastPathKernel

/// The one poll loop and the one timer its jobs share.
extension Daemon {
    func loop() -> Int32 {
        log.info("started (pid \(ProcessControl.pid)), config \(paths.config)")
        while true {
            if needsReconcile { reconcile() }
            var poller = Poller()
            poller.watch(monitor)
            poller.watch(signals)
            poller.watch(timer)
            if let conntrack {
                poller.watch(conntrack.monitor)
                poller.watch(conntrack.firewall)
            }
            let ready: Poller.Readiness
            do {
                ready = try poller.wait()
            } catch {
                log.error(error.description)
                continue
            }
            if ready.contains(monitor) { receiveKernelEvents() }
            if let conntrack, ready.contains(conntrack.firewall) { conntrack.receiveFirewallChanges() }
            if let conntrack, ready.contains(conntrack.monitor) { conntrack.receive() }
            if ready.contains(timer) && timer.consume() { runDueJobs() }
            scheduleProofs()
            if ready.contains(signals) {
                for signal in signals.drain() {
                    switch signal {
                    case .hangup: reload()
                    case .terminate, .interrupt: return stop()
                    case .other: break
                    }
                }
            }
        }
    }

    /// New flows are admitted within `ConntrackMirror.promptProofMilliseconds`
    /// of their proof, not at the next heartbeat; an idle router sleeps.
    func scheduleProofs() {
        guard proofsDue == nil, conntrack?.wantsPromptProofs == true else { return }
        proofsDue = MonotonicClock.milliseconds + ConntrackMirror.promptProofMilliseconds
        armTimer()
    }

    func armTimer() {
        let due = [probeDue, heartbeatDue, proofsDue].compactMap { $0 }.min()
        guard let due else {
            timer.disarm()
            return
        }
        let now = MonotonicClock.milliseconds
        timer.arm(milliseconds: due > now ? due - now : 1)
    }

    func runDueJobs() {
        let now = MonotonicClock.milliseconds
        if let due = probeDue, due <= now {
            probeDue = nil
            probeUnresolvedGateways()
        }
        if let due = proofsDue, due <= now {
            proofsDue = nil
            conntrack?.admitProvenDirections()
        }
        if let due = heartbeatDue, due <= now {
            heartbeatDue = nil
            heartbeat()
        }
        armTimer()
    }
}
