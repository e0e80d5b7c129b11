// A Curator DistributedDoubleBarrier member.
//
//   CuratorDoubleBarrier CONNECT PATH ROUNDS HOLD_MS [--sessions N] [--id NAME] [--members N]
//
// Each session, each round: print ENTERING, enter the double barrier of --members
// (default 2) members on PATH (waiting at most 30 s), print ENTERED, stay inside for
// HOLD_MS, print LEAVING, leave (at most 30 s), print LEFT. Each of these lines carries
// the microseconds since the epoch when it was printed. A wait that runs out prints
// TIMEOUT and ends the session's rounds. The member node's data is the session's id.

import java.util.concurrent.TimeUnit;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.recipes.barriers.DistributedDoubleBarrier;

public final class CuratorDoubleBarrier {
    public static void main(String[] args) throws Exception {
        Peer peer = new Peer("CuratorDoubleBarrier", args);
        int members = Integer.parseInt(peer.option("--members", "2"));
        System.exit(peer.runSessions((client, sessionId) -> rounds(peer, client, sessionId, members)));
    }

    static void rounds(Peer peer, CuratorFramework client, String sessionId, int members)
            throws Exception {
        for (int round = 0; round < peer.rounds; round++) {
            // A new member (and member node name) each round, as a new process would be.
            DistributedDoubleBarrier barrier = new DistributedDoubleBarrier(client, peer.path, members);
            step("ENTERING", sessionId, round);
            if (!barrier.enter(Peer.ACQUIRE_TIMEOUT_MS, TimeUnit.MILLISECONDS)) {
                peer.timeout(sessionId, round);
                return;
            }
            step("ENTERED", sessionId, round);
            Thread.sleep(peer.holdMs);
            step("LEAVING", sessionId, round);
            if (!barrier.leave(Peer.ACQUIRE_TIMEOUT_MS, TimeUnit.MILLISECONDS)) {
                peer.timeout(sessionId, round);
                return;
            }
            step("LEFT", sessionId, round);
            peer.grants.incrementAndGet();
        }
    }

    /** `WHAT id round micros`. */
    static void step(String what, String sessionId, int round) {
        Peer.say(what + " " + sessionId + " " + round + " " + Peer.nowMicros());
    }
}
