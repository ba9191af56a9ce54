package io.pgrelay.demo;

import io.pgrelay.embedded.EmbeddedPostgres;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The demo's PostgreSQL clusters: index 0 is the root, index {@code i} the downstream of tier
 * {@code i}. Each is its own server from the binaries inside pgrelay, started in parallel.
 */
final class DemoClusters implements AutoCloseable {

    private final List<EmbeddedPostgres> servers;

    private DemoClusters(List<EmbeddedPostgres> servers) {
        this.servers = servers;
    }

    /** Starts {@code tiers + 1} servers with their work directories in {@code dir}; all or none. */
    static DemoClusters start(int tiers, Path dir) throws InterruptedException {
        ExecutorService pool = Executors.newFixedThreadPool(tiers + 1, daemon("pgrelay-demo-initdb"));
        try {
            List<Future<EmbeddedPostgres>> starting = new ArrayList<>();
            for (int tier = 0; tier <= tiers; tier++) {
                String name = Tiers.label(tier).toLowerCase(java.util.Locale.ROOT);
                starting.add(pool.submit(() -> EmbeddedPostgres.builder(name)
                        .parent(dir)
                        // Throwaway clusters: skip fsync (and initdb's), as PostgreSQL's own tests do.
                        .setting("fsync", "off")
                        .start()));
            }
            return new DemoClusters(collect(starting));
        } finally {
            pool.shutdownNow();
        }
    }

    /** Waits for every start; when any failed, closes those that started and throws the first failure. */
    private static List<EmbeddedPostgres> collect(List<Future<EmbeddedPostgres>> starting) throws InterruptedException {
        List<EmbeddedPostgres> started = new ArrayList<>();
        RuntimeException failure = null;
        InterruptedException interrupted = null;
        for (Future<EmbeddedPostgres> future : starting) {
            try {
                started.add(future.get());
            } catch (ExecutionException e) {
                RuntimeException cause = e.getCause() instanceof RuntimeException re ? re : new IllegalStateException(e.getCause());
                if (failure == null) {
                    failure = cause;
                }
            } catch (InterruptedException e) {
                interrupted = e;
            }
        }
        if (failure != null || interrupted != null) {
            started.forEach(EmbeddedPostgres::close);
            if (interrupted != null) {
                throw interrupted;
            }
            throw failure;
        }
        return started;
    }

    /** The demo database on every server, the tables on every server, the publication on the root. */
    void createSchema() throws SQLException {
        for (EmbeddedPostgres server : servers) {
            server.execute("postgres", List.of("CREATE DATABASE " + DemoSchema.DATABASE));
            server.execute(DemoSchema.DATABASE, DemoSchema.TABLES_DDL);
        }
        root().execute(DemoSchema.DATABASE, List.of(DemoSchema.CREATE_PUBLICATION));
    }

    EmbeddedPostgres root() {
        return servers.get(0);
    }

    /** The downstream of tier {@code tier} (1-based). */
    EmbeddedPostgres tier(int tier) {
        return servers.get(tier);
    }

    int tiers() {
        return servers.size() - 1;
    }

    /** "root 127.0.0.1:5432, A 127.0.0.1:5433, …" */
    String describe() {
        List<String> parts = new ArrayList<>();
        for (int tier = 0; tier < servers.size(); tier++) {
            parts.add(Tiers.label(tier) + " " + servers.get(tier).host() + ":" + servers.get(tier).port());
        }
        return String.join(", ", parts);
    }

    /** Leaves every server running after the JVM exits. */
    void detach() {
        servers.forEach(EmbeddedPostgres::detach);
    }

    /** Lines that say how to reach each server, and how to stop it. */
    List<String> connectionHelp() {
        List<String> lines = new ArrayList<>();
        for (int tier = 0; tier < servers.size(); tier++) {
            lines.add(String.format("  %-5s %s", Tiers.label(tier), servers.get(tier).psqlCommand(DemoSchema.DATABASE)));
        }
        lines.add("  (psql comes with PostgreSQL's client package, e.g. apt-get install postgresql-client;"
                + " JDBC works too: jdbc:postgresql://127.0.0.1:PORT/" + DemoSchema.DATABASE + ", user postgres)");
        lines.add("stop them with:");
        for (EmbeddedPostgres server : servers) {
            lines.add("  " + server.stopCommand());
        }
        return lines;
    }

    /** Stops every server (in parallel) and deletes its files. Safe to call twice. */
    @Override
    public void close() {
        List<Thread> stopping = new ArrayList<>();
        for (EmbeddedPostgres server : servers) {
            Thread thread = daemon("pgrelay-demo-stop").newThread(server::close);
            thread.start();
            stopping.add(thread);
        }
        for (Thread thread : stopping) {
            try {
                thread.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** For a shutdown hook: stop at once. */
    void abandon() {
        servers.forEach(EmbeddedPostgres::abandon);
    }

    private static java.util.concurrent.ThreadFactory daemon(String name) {
        return runnable -> {
            Thread thread = new Thread(runnable, name);
            thread.setDaemon(true);
            return thread;
        };
    }
}
