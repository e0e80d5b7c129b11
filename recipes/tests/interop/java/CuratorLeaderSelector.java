// A Curator LeaderSelector participant, without autoRequeue.
//
//   CuratorLeaderSelector CONNECT PATH ROUNDS HOLD_MS [--sessions N] [--id NAME]
//
// Each session starts a LeaderSelector on PATH with its id as the participant id (the
// node's data) once the start barrier opens, and leads ROUNDS times: after each term it
// requeues (autoRequeue stays off). In takeLeadership it prints LEADER with the leader's
// node as Curator lists it and PARTICIPANTS (Curator's getParticipants()), holds for
// HOLD_MS, prints RESIGN and returns, which ends the term and releases the node. A
// VIOLATION is printed when Curator's getLeader() names someone else while we lead. A
// term that does not come within 30 s prints TIMEOUT and ends the session's rounds. The
// times are microseconds since the epoch: LEADER's when takeLeadership was called,
// RESIGN's just before it returns.

import java.util.Iterator;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.recipes.leader.LeaderSelector;
import org.apache.curator.framework.recipes.leader.LeaderSelectorListenerAdapter;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;

public final class CuratorLeaderSelector {
    public static void main(String[] args) throws Exception {
        Peer peer = new Peer("CuratorLeaderSelector", args);
        System.exit(peer.runSessions((client, sessionId) -> rounds(peer, client, sessionId)));
    }

    static void rounds(Peer peer, CuratorFramework client, String sessionId) throws Exception {
        Semaphore terms = new Semaphore(0);
        AtomicInteger round = new AtomicInteger();
        LeaderSelector[] selector = new LeaderSelector[1];
        selector[0] = new LeaderSelector(client, peer.path, new LeaderSelectorListenerAdapter() {
            @Override
            public void takeLeadership(CuratorFramework leader) throws Exception {
                try {
                    lead(peer, leader, selector[0], sessionId, round.getAndIncrement());
                } finally {
                    terms.release();
                }
            }
        });
        selector[0].setId(sessionId);
        selector[0].start();
        try {
            for (int k = 0; k < peer.rounds; k++) {
                if (k > 0) {
                    // False until the last term's task is done with the node.
                    while (!selector[0].requeue()) {
                        Thread.sleep(5);
                    }
                }
                if (!terms.tryAcquire(Peer.ACQUIRE_TIMEOUT_MS, TimeUnit.MILLISECONDS)) {
                    peer.timeout(sessionId, k);
                    return;
                }
            }
        } finally {
            selector[0].close();
        }
    }

    /** One term: report it, hold, resign. */
    static void lead(Peer peer, CuratorFramework client, LeaderSelector selector, String sessionId,
            int round) throws Exception {
        long from = Peer.nowMicros();
        peer.grants.incrementAndGet();
        Iterator<String> nodes = new InterProcessMutex(client, peer.path).getParticipantNodes().iterator();
        String node = nodes.hasNext() ? nodes.next() : null;
        Peer.say("LEADER " + sessionId + " " + Peer.lastSegment(node) + " " + from);
        String leader = selector.getLeader().getId();
        if (!leader.equals(sessionId)) {
            peer.violation(sessionId, round, "leader=" + leader);
        }
        Peer.participants(sessionId, selector.getParticipants());
        try {
            Thread.sleep(peer.holdMs);
        } catch (InterruptedException e) {
            // Curator cancels a term when the connection is suspended or lost.
            peer.errors.incrementAndGet();
            Peer.say("ERROR " + sessionId + " leadership cancelled");
            throw e;
        }
        Peer.say("RESIGN " + sessionId + " " + Peer.nowMicros());
    }
}
