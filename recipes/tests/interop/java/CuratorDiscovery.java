// A Curator ServiceDiscovery (curator-x-discovery) with a ServiceProvider.
//
//   CuratorDiscovery CONNECT BASE 1 0 [--id NAME] [--service S]
//
// The session registers a DYNAMIC instance of service S (default "svc") under BASE with
// id ID, address 10.0.0.1, port 8080, payload {"from": "curator"} and the URI spec
// "{scheme}://{address}:{port}" (Curator's default serializer: payload typed as Map),
// and prints REGISTERED. It then prints, first and whenever they change,
// `INSTANCES id:port:uri ...` (queryForInstances, sorted by id, the URI built by Curator)
// and `PROVIDER id ...` (its ServiceProvider's getAllInstances, sorted by id: enabled
// and not down). It unregisters and closes when BASE-cs/leave-ID appears, and prints
// LEFT. A session that has not left after 120 s prints TIMEOUT and leaves.

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.x.discovery.ServiceDiscovery;
import org.apache.curator.x.discovery.ServiceDiscoveryBuilder;
import org.apache.curator.x.discovery.ServiceInstance;
import org.apache.curator.x.discovery.ServiceProvider;
import org.apache.curator.x.discovery.UriSpec;
import org.apache.curator.x.discovery.details.JsonInstanceSerializer;

public final class CuratorDiscovery {
    /** How long a session stays registered at most. */
    static final long STAY_LIMIT_MS = 120_000;

    public static void main(String[] args) throws Exception {
        Peer peer = new Peer("CuratorDiscovery", args);
        if (peer.rounds != 1) {
            System.err.println("CuratorDiscovery registers once: ROUNDS must be 1");
            System.exit(2);
        }
        System.exit(peer.runSessions((client, sessionId) -> session(peer, client, sessionId), false));
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    static void session(Peer peer, CuratorFramework client, String sessionId) throws Exception {
        String service = peer.option("--service", "svc");
        ServiceInstance<Map> me = ServiceInstance.<Map>builder()
                .name(service)
                .id(sessionId)
                .address("10.0.0.1")
                .port(8080)
                .payload(Map.of("from", "curator"))
                .uriSpec(new UriSpec("{scheme}://{address}:{port}"))
                .build();
        ServiceDiscovery<Map> discovery = ServiceDiscoveryBuilder.builder(Map.class)
                .client(client)
                .basePath(peer.path)
                .serializer(new JsonInstanceSerializer<>(Map.class))
                .thisInstance(me)
                .build();
        discovery.start();
        Peer.say("REGISTERED " + sessionId);
        ServiceProvider<Map> provider = discovery.serviceProviderBuilder().serviceName(service).build();
        provider.start();
        String leave = peer.markers() + "/leave-" + sessionId;
        long limit = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(STAY_LIMIT_MS);
        String shownInstances = null;
        String shownProvider = null;
        while (client.checkExists().forPath(leave) == null) {
            if (System.nanoTime() > limit) {
                peer.timeout(sessionId, 0);
                break;
            }
            StringBuilder instances = new StringBuilder("INSTANCES");
            for (ServiceInstance<Map> i : sorted(discovery.queryForInstances(service))) {
                instances.append(' ').append(i.getId()).append(':').append(i.getPort())
                        .append(':').append(i.buildUriSpec());
            }
            if (!instances.toString().equals(shownInstances)) {
                shownInstances = instances.toString();
                Peer.say(shownInstances);
            }
            StringBuilder usable = new StringBuilder("PROVIDER");
            for (ServiceInstance<Map> i : sorted(provider.getAllInstances())) {
                usable.append(' ').append(i.getId());
            }
            if (!usable.toString().equals(shownProvider)) {
                shownProvider = usable.toString();
                Peer.say(shownProvider);
            }
            Thread.sleep(20);
        }
        provider.close();
        discovery.close();
        peer.grants.incrementAndGet();
        Peer.say("LEFT " + sessionId);
    }

    @SuppressWarnings("rawtypes")
    static List<ServiceInstance<Map>> sorted(Collection<ServiceInstance<Map>> all) {
        List<ServiceInstance<Map>> list = new ArrayList<>(all);
        list.sort(Comparator.comparing(ServiceInstance::getId));
        return list;
    }
}
