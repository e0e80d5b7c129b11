// A Curator LeaderLatch participant.
//
//   CuratorLeaderLatch CONNECT PATH 1 HOLD_MS [--sessions N] [--id NAME]
//
// Each session joins the LeaderLatch on PATH with its id as the participant id (the latch
// node's data) as soon as it is connected: no start barrier, so the test orders the
// participants by when it starts the program. It prints JOINED with its latch node once
// the node exists, LEADER when isLeader() fires and NOTLEADER when notLeader() fires. It
// leaves when the node PATH-cs/leave-ID appears (ID = the session's id), or, when HOLD_MS
// is not 0, once it has led for HOLD_MS; before leaving it prints Curator's participants.
// It leaves by closing the latch with CloseMode.NOTIFY_LEADER (a leader prints NOTLEADER),
// then prints LEFT. A session that has not left after 120 s prints TIMEOUT and leaves. A
// session joins once: ROUNDS must be 1. The times are microseconds since the epoch.

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.leader.LeaderLatchListener;

public final class CuratorLeaderLatch {
    /** How long a session stays in the election at most. */
    static final long STAY_LIMIT_MS = 120_000;
    /** No term runs. */
    static final long NOT_LEADING = Long.MIN_VALUE;

    public static void main(String[] args) throws Exception {
        Peer peer = new Peer("CuratorLeaderLatch", args);
        if (peer.rounds != 1) {
            System.err.println("CuratorLeaderLatch joins once: ROUNDS must be 1");
            System.exit(2);
        }
        System.exit(peer.runSessions((client, sessionId) -> session(peer, client, sessionId), false));
    }

    static void session(Peer peer, CuratorFramework client, String sessionId) throws Exception {
        LeaderLatch latch = new LeaderLatch(client, peer.path, sessionId, LeaderLatch.CloseMode.NOTIFY_LEADER);
        // When the current term started (System.nanoTime), or NOT_LEADING.
        AtomicLong leadingSince = new AtomicLong(NOT_LEADING);
        // Curator calls these on its event thread: they only print.
        latch.addListener(new LeaderLatchListener() {
            @Override
            public void isLeader() {
                leadingSince.set(System.nanoTime());
                peer.grants.incrementAndGet();
                Peer.say("LEADER " + sessionId + " " + Peer.lastSegment(latch.getOurPath()) + " "
                        + Peer.nowMicros());
            }

            @Override
            public void notLeader() {
                leadingSince.set(NOT_LEADING);
                Peer.say("NOTLEADER " + sessionId + " " + Peer.nowMicros());
            }
        });
        latch.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (latch.getOurPath() == null) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("no latch node within 30 s");
            }
            Thread.sleep(5);
        }
        Peer.say("JOINED " + sessionId + " " + Peer.lastSegment(latch.getOurPath()) + " "
                + Peer.nowMicros());
        String leave = peer.markers() + "/leave-" + sessionId;
        long limit = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(STAY_LIMIT_MS);
        while (client.checkExists().forPath(leave) == null) {
            long since = leadingSince.get();
            if (peer.holdMs > 0 && since != NOT_LEADING
                    && System.nanoTime() - since >= TimeUnit.MILLISECONDS.toNanos(peer.holdMs)) {
                break;
            }
            if (System.nanoTime() > limit) {
                peer.timeout(sessionId, 0);
                break;
            }
            Thread.sleep(10);
        }
        Peer.participants(sessionId, latch.getParticipants());
        latch.close();
        Peer.say("LEFT " + sessionId + " " + Peer.nowMicros());
    }
}
