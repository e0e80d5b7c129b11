// A Curator DistributedAtomicLong peer.
//
//   CuratorAtomicLong CONNECT PATH ROUNDS HOLD_MS [--sessions N] [--id NAME]
//                     [--tries N] [--promote LOCK_PATH]
//
// Each session, once the test creates PATH-cs/go: print START with the value get() reads;
// once PATH-cs/inc appears, increment() ROUNDS times, with RetryNTimes(N - 1, 1 ms)
// (--tries, default 1000) and, with --promote, PromotedToLock on LOCK_PATH with
// RetryNTimes(1000, 1 ms) under the lock. Each increment prints INCR with the values
// before and after, or FAIL with the value before when it did not succeed; then
// INCREMENTED, and SEEN once get() reads the final value written in PATH-cs/end.
// HOLD_MS is not used. SUMMARY counts the lock-promoted increments in grants= as well.

import java.util.concurrent.atomic.AtomicInteger;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.recipes.atomic.AtomicValue;
import org.apache.curator.framework.recipes.atomic.DistributedAtomicLong;
import org.apache.curator.framework.recipes.atomic.PromotedToLock;
import org.apache.curator.retry.RetryNTimes;

public final class CuratorAtomicLong {
    static final AtomicInteger PROMOTED = new AtomicInteger();

    public static void main(String[] args) throws Exception {
        Peer peer = new Peer("CuratorAtomicLong", args);
        int tries = Integer.parseInt(peer.option("--tries", "1000"));
        String lockPath = peer.option("--promote", null);
        int code = peer.runSessions((client, sessionId) -> rounds(peer, client, sessionId, tries, lockPath));
        Peer.say("PROMOTED " + PROMOTED.get());
        System.exit(code);
    }

    static void rounds(Peer peer, CuratorFramework client, String sessionId, int tries, String lockPath)
            throws Exception {
        RetryNTimes retry = new RetryNTimes(Math.max(tries - 1, 0), 1);
        DistributedAtomicLong counter = lockPath == null
                ? new DistributedAtomicLong(client, peer.path, retry)
                : new DistributedAtomicLong(client, peer.path, retry,
                        PromotedToLock.builder().lockPath(lockPath).retryPolicy(new RetryNTimes(1000, 1)).build());
        Peer.say("START " + sessionId + " " + counter.get().postValue());
        CounterPeer.awaitGate(peer, client, "inc");
        for (int round = 0; round < peer.rounds; round++) {
            AtomicValue<Long> outcome = counter.increment();
            if (outcome.succeeded()) {
                if (outcome.getStats().getPromotedLockTries() > 0) {
                    PROMOTED.incrementAndGet();
                }
                CounterPeer.incremented(peer, sessionId, round, outcome.preValue(), outcome.postValue());
            } else {
                peer.errors.incrementAndGet();
                Peer.say("FAIL " + sessionId + " " + round + " " + outcome.preValue());
            }
        }
        CounterPeer.seen(peer, client, sessionId, () -> {
            try {
                return counter.get().postValue();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
    }
}
