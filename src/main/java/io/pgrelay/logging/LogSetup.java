package io.pgrelay.logging;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.jul.LevelChangePropagator;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ConfiguratorRank;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.spi.ContextAwareBase;
import ch.qos.logback.core.status.NopStatusListener;
import org.slf4j.Logger;

/**
 * pgrelay's logging, set up in code: one line per event on stderr ({@link LogLineEncoder}),
 * {@code io.pgrelay} at {@code PGRELAY_LOG_LEVEL} (INFO), pgjdbc at {@code PGRELAY_JDBC_LOG_LEVEL}
 * (WARN), everything else at WARN.
 *
 * <p>Why not a logback.xml: parsing XML and building logback's model of it cost about a fifth of
 * a second of every start, and a relay's start-up counts (a restart is downtime, a catch-up is
 * timed from the start). An operator's own file still wins: with {@code -Dlogback.configurationFile}
 * (see conf/logback.xml), or a {@code logback-test.xml} on the classpath, this steps aside and
 * logback reads the file as usual.
 */
@ConfiguratorRank(ConfiguratorRank.CUSTOM_HIGH_PRIORITY)
public final class LogSetup extends ContextAwareBase implements Configurator {

    static final String LEVEL_VARIABLE = "PGRELAY_LOG_LEVEL";
    static final String JDBC_LEVEL_VARIABLE = "PGRELAY_JDBC_LOG_LEVEL";

    @Override
    public ExecutionStatus configure(LoggerContext context) {
        if (System.getProperty("logback.configurationFile") != null
                || getClass().getClassLoader().getResource("logback-test.xml") != null) {
            return ExecutionStatus.INVOKE_NEXT_IF_ANY;
        }
        install(context);
        return ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY;
    }

    /** pgrelay's appender and levels, on a context no file configured. */
    static void install(LoggerContext context) {
        context.getStatusManager().add(new NopStatusListener());

        // pgjdbc logs through java.util.logging (bridged in Main): propagating levels keeps its
        // disabled statements free.
        LevelChangePropagator propagator = new LevelChangePropagator();
        propagator.setContext(context);
        propagator.setResetJUL(true);
        context.addListener(propagator);
        propagator.start();

        LogLineEncoder encoder = new LogLineEncoder();
        encoder.setContext(context);
        encoder.start();
        ConsoleAppender<ILoggingEvent> stderr = new ConsoleAppender<>();
        stderr.setContext(context);
        stderr.setName("STDERR");
        stderr.setTarget("System.err");
        stderr.setEncoder(encoder);
        stderr.start();

        ch.qos.logback.classic.Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
        root.setLevel(Level.WARN);
        root.addAppender(stderr);
        context.getLogger("io.pgrelay").setLevel(level(LEVEL_VARIABLE, Level.INFO));
        context.getLogger("org.postgresql").setLevel(level(JDBC_LEVEL_VARIABLE, Level.WARN));
        context.getLogger("com.zaxxer.hikari").setLevel(Level.WARN);
        // Hikari warns with a whole stack trace when it retires a broken connection; the relay
        // reports that same failure in one line of its own (Relay: "downstream failed ...").
        context.getLogger("com.zaxxer.hikari.pool.ProxyConnection").setLevel(Level.ERROR);
    }

    /** A system property, else the environment variable, as logback's {@code ${NAME:-default}} reads it. */
    private static Level level(String name, Level fallback) {
        String value = System.getProperty(name, System.getenv(name));
        return value == null || value.isBlank() ? fallback : Level.toLevel(value.trim(), fallback);
    }
}
