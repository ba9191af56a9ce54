package io.pgrelay.metrics;

import com.zaxxer.hikari.HikariConfig;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.pgrelay.config.HostPort;
import io.pgrelay.config.RelayConfig;
import io.pgrelay.relay.Relay;
import java.io.IOException;
import java.net.InetSocketAddress;

/**
 * Wires metrics, the HTTP endpoint and the upstream monitor around one relay, and closes them
 * in order: monitor, endpoint, then the registry (metrics last, so a final scrape still works).
 */
public final class Observability implements AutoCloseable {

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final RelayMetrics metrics = new PoolAwareMetrics(registry);
    private GcMetricsHandle gc;
    private HttpEndpoint endpoint;
    private UpstreamMonitor monitor;

    /** The listener to hand the relay; it records apply events and attaches HikariCP metrics. */
    public RelayMetrics listener() {
        return metrics;
    }

    public PrometheusMeterRegistry registry() {
        return registry;
    }

    /** Binds the relay and starts the endpoint (when {@code http.listen} is set) and the monitor. */
    public Observability start(Relay relay, RelayConfig config) throws IOException {
        new JvmMemoryMetrics().bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ClassLoaderMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
        new FileDescriptorMetrics().bindTo(registry);
        gc = new GcMetricsHandle(new JvmGcMetrics());
        gc.metrics.bindTo(registry);
        metrics.bind(relay);
        if (config.httpListen() != null && !config.httpListen().isEmpty()) {
            HostPort address = HostPort.parse(config.httpListen());
            endpoint = HttpEndpoint.start(new InetSocketAddress(address.host(), address.port()), registry, metrics, relay);
        }
        monitor = new UpstreamMonitor(config, metrics, config.heartbeatEnabled(), config.heartbeatInterval()).start();
        return this;
    }

    public int httpPort() {
        return endpoint == null ? -1 : endpoint.port();
    }

    @Override
    public void close() {
        if (monitor != null) {
            monitor.close();
        }
        if (endpoint != null) {
            endpoint.close();
        }
        if (gc != null) {
            gc.metrics.close();
        }
        registry.close();
    }

    private record GcMetricsHandle(JvmGcMetrics metrics) {}

    /** Also attaches HikariCP's own pool metrics ({@code hikaricp_*}) to the registry. */
    private static final class PoolAwareMetrics extends RelayMetrics {
        private final PrometheusMeterRegistry registry;

        PoolAwareMetrics(PrometheusMeterRegistry registry) {
            super(registry);
            this.registry = registry;
        }

        @Override
        public void poolCreated(HikariConfig pool) {
            pool.setMetricRegistry(registry);
        }
    }
}
