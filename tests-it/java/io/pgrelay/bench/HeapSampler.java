package io.pgrelay.bench;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Watches a pgrelay process's heap through its own /metrics (Micrometer's JVM metrics): the sum of
 * {@code jvm_memory_used_bytes{area="heap"}} over the pools, sampled every 250 ms, and at the end
 * {@code jvm_gc_memory_allocated_bytes_total}. That counter only grows at a garbage collection, so
 * {@link #finish} forces one with {@code jcmd PID GC.run} (after the timing ended) to count the
 * young generation's last allocations too.
 */
final class HeapSampler implements AutoCloseable {

    private static final Duration EVERY = Duration.ofMillis(250);

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private final HttpRequest request;
    private final Thread thread;
    private volatile boolean stop;
    private volatile long heapMax;

    HeapSampler(int httpPort) {
        request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + "/metrics"))
                .timeout(Duration.ofSeconds(5)).build();
        thread = new Thread(this::sample, "bench-heap-sampler");
        thread.setDaemon(true);
        thread.start();
    }

    private void sample() {
        while (!stop) {
            String metrics = scrape();
            if (metrics != null) {
                heapMax = Math.max(heapMax, heapUsed(metrics));
            }
            try {
                Thread.sleep(EVERY.toMillis());
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** The metrics text, or null while the endpoint is not up (start-up) or gone. */
    private String scrape() {
        try {
            HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
            return response.statusCode() == 200 ? response.body() : null;
        } catch (java.io.IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    static long heapUsed(String metrics) {
        double sum = 0;
        for (String line : metrics.lines().toList()) {
            if (line.startsWith("jvm_memory_used_bytes{") && line.contains("area=\"heap\"")) {
                sum += value(line);
            }
        }
        return (long) sum;
    }

    static long allocated(String metrics) {
        for (String line : metrics.lines().toList()) {
            if (line.startsWith("jvm_gc_memory_allocated_bytes_total")) {
                return (long) value(line);
            }
        }
        return -1;
    }

    private static double value(String line) {
        String[] parts = line.trim().split("\\s+");
        return Double.parseDouble(parts[parts.length - 1]);
    }

    /** Stops sampling and returns the figures; forces a GC in process {@code pid} first when jcmd is there. */
    Outcome.Memory finish(long pid, Path jcmd, Path work) throws Exception {
        stop = true;
        thread.interrupt();
        thread.join(5_000);
        boolean complete = false;
        if (jcmd != null) {
            ProcessRun.Result gc = ProcessRun.run(List.of(jcmd.toString(), Long.toString(pid), "GC.run"), Map.of(),
                    Duration.ofSeconds(30), work);
            complete = gc.exitCode() == 0;
            Thread.sleep(300); // Micrometer counts the GC from a notification thread
        }
        String metrics = scrape();
        if (metrics == null) {
            throw new IllegalStateException("pgrelay's /metrics did not answer at the end of the run");
        }
        return new Outcome.Memory(Math.max(heapMax, heapUsed(metrics)), allocated(metrics), complete);
    }

    @Override
    public void close() throws InterruptedException {
        stop = true;
        thread.interrupt();
        thread.join(5_000);
    }
}
