package io.pgrelay.it;

import com.github.dockerjava.api.DockerClient;
import io.pgrelay.embedded.FreePorts;
import io.pgrelay.embedded.LogTail;
import java.nio.file.Path;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.testcontainers.containers.PostgreSQLContainer;
import org.testcontainers.images.builder.Transferable;
import org.testcontainers.utility.DockerImageName;

/**
 * A server in a {@code postgres:15} container. The container is published on a fixed loopback
 * port, so stopping and starting the container (our restart and crash) keeps the address.
 */
final class DockerPgServer implements PgServer {

    private static final DockerImageName IMAGE = DockerImageName.parse("postgres:15");
    private static final String HOST = "127.0.0.1";
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(60);
    /**
     * The image only lets "all" databases in from outside, and "all" does not cover replication
     * connections; init scripts run before the final server start, so this line is in effect.
     */
    private static final String ALLOW_REPLICATION =
            "echo 'host replication all all scram-sha-256' >> \"$PGDATA/pg_hba.conf\"\n";

    private final PostgreSQLContainer<?> container;
    private final int port;
    private final String superuser;
    private final String password;
    private boolean everStarted;

    DockerPgServer(Map<String, String> settings, String superuser, String password) {
        this.port = FreePorts.next();
        this.superuser = superuser;
        this.password = password;
        List<String> command = new ArrayList<>(List.of("postgres"));
        settings.forEach((name, value) -> {
            command.add("-c");
            command.add(name + "=" + value);
        });
        container = new PostgreSQLContainer<>(IMAGE)
                .withUsername(superuser)
                .withPassword(password)
                .withDatabaseName("postgres")
                .withCommand(command.toArray(String[]::new))
                .withCopyToContainer(Transferable.of(ALLOW_REPLICATION), "/docker-entrypoint-initdb.d/allow-replication.sh")
                .withStartupTimeout(Duration.ofSeconds(120));
        container.setPortBindings(List.of(HOST + ":" + port + ":" + PostgreSQLContainer.POSTGRESQL_PORT));
    }

    @Override
    public void start() {
        if (!everStarted) {
            try {
                container.start();
            } catch (RuntimeException e) {
                throw new PgClusterException("postgres container did not start\n--- server log tail ---\n" + logTail(), e);
            }
            everStarted = true;
            return;
        }
        docker().startContainerCmd(container.getContainerId()).exec();
        awaitConnections();
    }

    @Override
    public void stop() {
        // The image's stop signal is SIGINT, PostgreSQL's fast shutdown.
        docker().stopContainerCmd(container.getContainerId()).withTimeout(60).exec();
    }

    @Override
    public void crash() {
        docker().killContainerCmd(container.getContainerId()).exec();
    }

    @Override
    public void destroy(boolean graceful) {
        try {
            // Graceful or not makes no difference: the container and its data are thrown away.
            container.stop(); // removes the container and its data volume
        } catch (RuntimeException e) {
            System.err.println("PgCluster: could not remove container: " + e);
        }
    }

    private DockerClient docker() {
        return container.getDockerClient();
    }

    private void awaitConnections() {
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        String url = "jdbc:postgresql://" + HOST + ":" + port + "/postgres?connectTimeout=5";
        SQLException last = null;
        while (System.nanoTime() < deadline) {
            try {
                DriverManager.getConnection(url, superuser, password).close();
                return;
            } catch (SQLException e) {
                last = e;
            }
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new PgClusterException("interrupted while waiting for the container to accept connections", e);
            }
        }
        throw new PgClusterException("container did not accept connections within " + READY_TIMEOUT.toSeconds()
                + " s\n--- server log tail ---\n" + logTail(), last);
    }

    @Override
    public String host() {
        return HOST;
    }

    @Override
    public int port() {
        return port;
    }

    @Override
    public Path binDir() {
        return null;
    }

    @Override
    public Path workDir() {
        return null;
    }

    @Override
    public String logTail() {
        try {
            return LogTail.of(container.getLogs(), 40);
        } catch (RuntimeException e) {
            return "(no container log: " + e + ")";
        }
    }
}
