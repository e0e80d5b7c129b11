// A Curator InterProcessSemaphoreV2 contender.
//
//   CuratorSemaphore CONNECT PATH ROUNDS HOLD_MS [--sessions N] [--id NAME] [--leases N]
//
// Each session, each round: acquire one lease of a semaphore of --leases (default 2) on
// PATH, take the first free slot among the ephemeral markers PATH-cs/slot-0 .. slot-{N-1}
// (a VIOLATION when all N are taken: more than N holders), hold for HOLD_MS, delete the
// slot, return the lease.

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.recipes.locks.InterProcessSemaphoreV2;
import org.apache.curator.framework.recipes.locks.Lease;

public final class CuratorSemaphore {
    public static void main(String[] args) throws Exception {
        Peer peer = new Peer("CuratorSemaphore", args);
        int leases = Integer.parseInt(peer.option("--leases", "2"));
        System.exit(peer.runSessions((client, sessionId) -> rounds(peer, client, sessionId, leases)));
    }

    static void rounds(Peer peer, CuratorFramework client, String sessionId, int leases)
            throws Exception {
        InterProcessSemaphoreV2 semaphore = new InterProcessSemaphoreV2(client, peer.path, leases);
        semaphore.setNodeData(sessionId.getBytes(StandardCharsets.UTF_8));
        for (int round = 0; round < peer.rounds; round++) {
            Lease lease = semaphore.acquire(Peer.ACQUIRE_TIMEOUT_MS, TimeUnit.MILLISECONDS);
            if (lease == null) {
                peer.timeout(sessionId, round);
                continue;
            }
            long from = Peer.nowMicros();
            String slot = null;
            for (int i = 0; i < leases && slot == null; i++) {
                String marker = peer.markers() + "/slot-" + i;
                if (peer.mark(client, marker, sessionId)) {
                    slot = marker;
                }
            }
            if (slot == null) {
                List<String> holders = new ArrayList<>();
                for (int i = 0; i < leases; i++) {
                    holders.add(peer.markedBy(client, peer.markers() + "/slot-" + i));
                }
                peer.violation(sessionId, round, "slots-full=" + holders);
            }
            Thread.sleep(peer.holdMs);
            if (slot != null) {
                client.delete().forPath(slot);
            }
            long to = Peer.nowMicros();
            String node = lease.getNodeName();
            semaphore.returnLease(lease);
            peer.granted(sessionId, round, node, from, to);
        }
    }
}
