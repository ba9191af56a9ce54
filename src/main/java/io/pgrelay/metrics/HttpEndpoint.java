package io.pgrelay.metrics;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.pgrelay.relay.Relay;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code http.listen}: {@code /metrics} (Prometheus text), {@code /health} (200 while alive and
 * not failed), {@code /ready} (200 while streaming from the upstream and writing downstream),
 * {@code /status} (JSON for {@code pgrelay status}). One daemon thread serves them.
 */
public final class HttpEndpoint implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(HttpEndpoint.class);

    private final HttpServer server;

    private HttpEndpoint(HttpServer server) {
        this.server = server;
    }

    public static HttpEndpoint start(InetSocketAddress address, PrometheusMeterRegistry registry, RelayMetrics metrics,
                                     Relay relay) throws IOException {
        // Without TCP_NODELAY small responses wait for the client's delayed ACK (~40 ms each).
        System.setProperty("sun.net.httpserver.nodelay", "true");
        HttpServer server = HttpServer.create(address, 16);
        server.setExecutor(Executors.newSingleThreadExecutor(runnable -> {
            Thread thread = new Thread(runnable, "pgrelay-http");
            thread.setDaemon(true);
            return thread;
        }));
        server.createContext("/metrics", exchange -> {
            metrics.refresh();
            respond(exchange, 200, "text/plain; version=0.0.4; charset=utf-8", registry.scrape());
        });
        server.createContext("/health", exchange -> {
            boolean failed = relay.hasFailed();
            respond(exchange, failed ? 503 : 200, "text/plain", failed ? "failed: " + relay.failure() + "\n" : "ok\n");
        });
        server.createContext("/ready", exchange -> {
            boolean ready = relay.isStreaming() && !relay.hasFailed();
            respond(exchange, ready ? 200 : 503, "text/plain", ready ? "ready\n" : "not ready: not streaming from the upstream\n");
        });
        server.createContext("/status", exchange -> {
            StatusReport report = StatusReport.of(relay, metrics);
            boolean text = "format=text".equals(exchange.getRequestURI().getQuery());
            respond(exchange, 200, text ? "text/plain; charset=utf-8" : "application/json",
                    text ? report.toText() : report.toJson());
        });
        server.start();
        log.info("HTTP endpoint on {} (/metrics, /health, /ready, /status)", server.getAddress());
        return new HttpEndpoint(server);
    }

    public int port() {
        return server.getAddress().getPort();
    }

    private static void respond(HttpExchange exchange, int status, String type, String body) throws IOException {
        try (exchange) {
            if (!"GET".equals(exchange.getRequestMethod()) && !"HEAD".equals(exchange.getRequestMethod())) {
                exchange.sendResponseHeaders(405, -1);
                return;
            }
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", type);
            exchange.sendResponseHeaders(status, bytes.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(bytes);
            }
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
