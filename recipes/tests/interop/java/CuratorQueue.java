// A Curator queue producer or consumer.
//
//   CuratorQueue CONNECT PATH 1 HOLD_MS [--sessions N] [--id NAME]
//                (--put N | --take N) [--simple] [--lock-path P]
//
// The queue at PATH is Curator's DistributedQueue (QueueBuilder, items as raw bytes), with
// lock safety on P with --lock-path, or its SimpleDistributedQueue with --simple. Each
// session, once the test creates PATH-cs/go:
//
// --put N: puts item-0 .. item-{N-1} in that order with one queue object (DistributedQueue:
//   in the background, then flushPuts), then prints `PUT id item` for each, in order;
//   with HOLD_MS it waits that long between two puts, after flushing and printing;
// --take N: consumes items until it has N, or the node PATH-cs/stop appears, printing
//   `TAKEN id item us` as each one is consumed (DistributedQueue: in consumeMessage,
//   which then holds for HOLD_MS; with --lock-path Curator deletes the item after it
//   returns, and the queue is closed once that is done); one that has not got N after
//   30 s without stop prints `TIMEOUT id taken`.
//
// `grants=` in SUMMARY counts the items put or taken. ROUNDS must be 1.

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.recipes.queue.DistributedQueue;
import org.apache.curator.framework.recipes.queue.QueueBuilder;
import org.apache.curator.framework.recipes.queue.QueueConsumer;
import org.apache.curator.framework.recipes.queue.QueueSerializer;
import org.apache.curator.framework.recipes.queue.SimpleDistributedQueue;
import org.apache.curator.framework.state.ConnectionState;

public final class CuratorQueue {
    /** How long a consumer waits for its N items (unless told to stop). */
    static final long TAKE_TIMEOUT_MS = 30_000;
    /** How long the puts made in the background may take to be made. */
    static final long PUT_TIMEOUT_MS = 10_000;

    /** Items as the raw bytes of the node's framing. */
    static final QueueSerializer<byte[]> RAW = new QueueSerializer<>() {
        @Override
        public byte[] serialize(byte[] item) {
            return item;
        }

        @Override
        public byte[] deserialize(byte[] bytes) {
            return bytes;
        }
    };

    public static void main(String[] args) throws Exception {
        Peer peer = new Peer("CuratorQueue", args);
        int put = Integer.parseInt(peer.option("--put", "-1"));
        int take = Integer.parseInt(peer.option("--take", "-1"));
        if (peer.rounds != 1 || (put < 0) == (take < 0)) {
            System.err.println("CuratorQueue: ROUNDS must be 1, and one of --put N, --take N");
            System.exit(2);
        }
        boolean simple = peer.extra.contains("--simple");
        String lockPath = peer.option("--lock-path", null);
        System.exit(peer.runSessions((client, sessionId) -> {
            if (put >= 0) {
                put(peer, client, sessionId, put, simple, lockPath);
            } else if (simple) {
                takeSimple(peer, client, sessionId, take);
            } else {
                take(peer, client, sessionId, take, lockPath);
            }
        }));
    }

    static String item(int k) {
        return "item-" + k;
    }

    static void put(Peer peer, CuratorFramework client, String sessionId, int n, boolean simple,
            String lockPath) throws Exception {
        List<String> put = new ArrayList<>();
        if (simple) {
            SimpleDistributedQueue queue = new SimpleDistributedQueue(client, peer.path);
            for (int k = 0; k < n; k++) {
                if (!queue.offer(item(k).getBytes(StandardCharsets.UTF_8))) {
                    throw new IllegalStateException("offer of " + item(k) + " returned false");
                }
                put.add(item(k));
                say(peer, sessionId, put);
                if (k + 1 < n && peer.holdMs > 0) {
                    Thread.sleep(peer.holdMs);
                }
            }
        } else {
            QueueBuilder<byte[]> builder = QueueBuilder.builder(client, null, RAW, peer.path);
            if (lockPath != null) {
                builder = builder.lockPath(lockPath);
            }
            DistributedQueue<byte[]> queue = builder.buildQueue();
            queue.start();
            try {
                for (int k = 0; k < n; k++) {
                    if (k > 0 && peer.holdMs > 0) {
                        flush(queue);
                        say(peer, sessionId, put);
                        Thread.sleep(peer.holdMs);
                    }
                    queue.put(item(k).getBytes(StandardCharsets.UTF_8));
                    put.add(item(k));
                }
                flush(queue);
            } finally {
                queue.close();
            }
        }
        say(peer, sessionId, put);
    }

    /** Waits for the puts made in the background. */
    static void flush(DistributedQueue<byte[]> queue) throws Exception {
        if (!queue.flushPuts(PUT_TIMEOUT_MS, TimeUnit.MILLISECONDS)) {
            throw new IllegalStateException("puts not flushed within " + PUT_TIMEOUT_MS + " ms");
        }
    }

    /** Prints `PUT id item` for the items of `put`, which it empties. */
    static void say(Peer peer, String sessionId, List<String> put) {
        for (String item : put) {
            peer.grants.incrementAndGet();
            Peer.say("PUT " + sessionId + " " + item);
        }
        put.clear();
    }

    /** Whether the test has created PATH-cs/stop. */
    static boolean stopped(Peer peer, CuratorFramework client) throws Exception {
        return client.checkExists().forPath(peer.markers() + "/stop") != null;
    }

    static void taken(Peer peer, String sessionId, byte[] item) {
        peer.grants.incrementAndGet();
        Peer.say("TAKEN " + sessionId + " " + new String(item, StandardCharsets.UTF_8) + " "
                + Peer.nowMicros());
    }

    static void take(Peer peer, CuratorFramework client, String sessionId, int n, String lockPath)
            throws Exception {
        AtomicInteger taken = new AtomicInteger();
        QueueConsumer<byte[]> consumer = new QueueConsumer<>() {
            @Override
            public void consumeMessage(byte[] item) throws Exception {
                taken(peer, sessionId, item);
                synchronized (taken) {
                    taken.incrementAndGet();
                    taken.notifyAll();
                }
                if (peer.holdMs > 0) {
                    Thread.sleep(peer.holdMs);
                }
            }

            @Override
            public void stateChanged(CuratorFramework c, ConnectionState state) {}
        };
        // Curator's default executor (the same thread), counting the items in process: with
        // lock safety an item is deleted after consumeMessage returns, and the queue is
        // closed only once that is done.
        AtomicInteger processing = new AtomicInteger();
        QueueBuilder<byte[]> builder = QueueBuilder.builder(client, consumer, RAW, peer.path)
                .executor(task -> {
                    processing.incrementAndGet();
                    try {
                        task.run();
                    } finally {
                        processing.decrementAndGet();
                    }
                });
        if (lockPath != null) {
            builder = builder.lockPath(lockPath);
        }
        DistributedQueue<byte[]> queue = builder.buildQueue();
        queue.start();
        try {
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(TAKE_TIMEOUT_MS);
            synchronized (taken) {
                while (taken.get() < n && !stopped(peer, client)) {
                    if (System.nanoTime() > deadline) {
                        peer.timeout(sessionId, taken.get());
                        break;
                    }
                    taken.wait(10);
                }
            }
            long settle = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (processing.get() > 0 && System.nanoTime() < settle) {
                Thread.sleep(5);
            }
        } finally {
            queue.close();
        }
    }

    static void takeSimple(Peer peer, CuratorFramework client, String sessionId, int n)
            throws Exception {
        SimpleDistributedQueue queue = new SimpleDistributedQueue(client, peer.path);
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(TAKE_TIMEOUT_MS);
        int taken = 0;
        while (taken < n && !stopped(peer, client)) {
            if (System.nanoTime() > deadline) {
                peer.timeout(sessionId, taken);
                break;
            }
            byte[] item = queue.poll(50, TimeUnit.MILLISECONDS);
            if (item != null) {
                taken(peer, sessionId, item);
                taken++;
                if (peer.holdMs > 0) {
                    Thread.sleep(peer.holdMs);
                }
            }
        }
    }
}
